-- title: Council against its statistical neighbours
-- description: One council and each of its statistical neighbours (nearest first) for one measure in the latest reporting year, with the neighbour median, region and England alongside. :la takes a code or a council name (default Darlington, 841); :measure a measure id (default turnover_rate_fte). The neighbour median is the median of the neighbours that published a value; a neighbour that returns jointly shows its joint return's value (the one the median uses, counted once), and a joint return takes its first member's list less its own members (note says so).
-- example: la=841&measure=turnover_rate_fte
with pick as (  -- :la as any code or name DfE or ONS has used (benchmark/councils.py pick_sql, put in by site.query_files); a joint-return member gives its return
  {{pick_council}}
),
me as (
  select * from comparisons
  where area_code = (select area_code from pick)
    and measure_id = coalesce(nullif(:measure, ''), 'turnover_rate_fte')
    and provisional = 0
  order by time_period desc
  limit 1
),
lists as (  -- the list the median takes (neighbours.year_lists): a joint return ('940 / 941') takes its first member's
  select case when instr(me.area_code, ' / ') > 0 then substr(me.area_code, 1, instr(me.area_code, ' / ') - 1)
              else me.area_code end as list_code
  from me
),
listed as (
  select n.position, n.neighbour_code as code, n.closeness, na.area_name,
         -- a neighbour that returns jointly counts with its joint return's row that year (its own row before)
         case when o_own.area_code is null and na.joint_return_code is not null then na.joint_return_code
              else n.neighbour_code end as used_code
  from neighbours n
  join me on n.model = me.sn_model
  join lists l on n.area_code = l.list_code
  left join areas na on na.area_code = n.neighbour_code
  left join (select distinct area_code, time_period from observations) o_own
    on o_own.area_code = n.neighbour_code and o_own.time_period = me.time_period
),
members as (
  select 0 as position, me.area_code as code, 'this council' as closeness, me.area_code as used_code,
         case when instr(me.area_code, ' / ') > 0 then 'joint return: its neighbours are the first member''s ('
              || (select list_code from lists) || ') list, less the return''s own members' end as note
  from me
  union all
  select position, code, closeness, used_code,
         case when row_number() over (partition by used_code order by position) > 1
                then 'joint return ' || used_code || ', already listed: counted once'
              when used_code <> code
                then 'joint return with ' || coalesce((select group_concat(m.area_name || ' (' || m.area_code || ')', ' and ')
                                                       from areas m where m.joint_return_code = used_code
                                                         and m.area_code <> code), used_code)
                     || ': the value used in the median is the joint return''s (' || used_code || ')'
         end as note
  from listed
  where used_code <> (select area_code from me)  -- a member of this joint return is not its own neighbour
)
select mb.position, mb.code as area_code, a.area_name, mb.closeness, me.time_period, me.measure_id,
       o.value, o.symbol, me.sn_median, me.sn_count, me.region_name, me.region, me.england, mb.note
from members mb
cross join me
left join areas a on a.area_code = mb.code
left join observations o on o.area_code = mb.used_code and o.time_period = me.time_period
  and o.measure_id = me.measure_id
order by mb.position
