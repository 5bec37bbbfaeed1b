-- title: Council profile
-- description: Every measure for one council in one reporting year, beside its statistical-neighbour median, region and England, with its rank among councils and quartile (A best to D worst, by the measure's polarity). :la takes a DfE three-digit code, an ONS code or a council name (default Darlington, 841); :year defaults to the latest year. A blank value with a symbol is DfE's symbol (c, x, z, low, u), never zero.
-- example: la=841&year=2025
with pick as (  -- :la as any code or name DfE or ONS has used (benchmark/councils.py pick_sql, put in by site.query_files); a joint-return member gives its return
  {{pick_council}}
),
yr as (
  select coalesce(nullif(:year, ''), (select max(time_period) from comparisons where provisional = 0)) + 0 as y
)
select c.time_period, c.area_code, c.area_name, m.label as measure, c.measure_id, m.unit,
       c.value, c.symbol, c.sn_median, c.sn_count, c.region_name, c.region, c.england,
       c.rank, c.rank_of, c.quartile, c.change, c.direction,
       c.diff_sn_median, c.diff_england, m.polarity, m.key_measure
from comparisons c
join measures m on m.measure_id = c.measure_id
where c.area_code = (select area_code from pick)
  and c.time_period = (select y from yr)
  and c.provisional = 0
order by m.key_measure desc, m.rowid
