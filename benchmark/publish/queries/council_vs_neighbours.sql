-- title: Council against its statistical neighbours
-- description: One council and each of its statistical neighbours (nearest first) for one measure in the latest reporting year, with the neighbour median, region and England alongside. :la takes a code or a council name (default Darlington, 841); :measure a measure id (default turnover_rate_fte). The neighbour median is the median of the neighbours that published a value.
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
members as (
  select 0 as position, area_code as code, 'this council' as closeness from me
  union all
  select n.position, n.neighbour_code, n.closeness
  from neighbours n join me on n.area_code = me.area_code and n.model = me.sn_model
)
select mb.position, mb.code as area_code, a.area_name, mb.closeness, me.time_period, me.measure_id,
       o.value, o.symbol, me.sn_median, me.sn_count, me.region_name, me.region, me.england
from members mb
cross join me
left join areas a on a.area_code = mb.code
left join observations o on o.area_code = mb.code and o.time_period = me.time_period and o.measure_id = me.measure_id
order by mb.position
