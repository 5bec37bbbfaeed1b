-- title: Trend
-- description: One council's value for one measure in every reporting year, beside its statistical-neighbour median, region and England, with the change from the year before. :la takes a code or a council name (default Darlington, 841); :measure a measure id (default turnover_rate_fte).
-- example: la=841&measure=turnover_rate_fte
with pick as (  -- :la as any code or name DfE or ONS has used (benchmark/councils.py pick_sql, put in by site.query_files); a joint-return member gives its return
  {{pick_council}}
)
select c.time_period, c.area_code, c.area_name, c.measure_id, m.label as measure, m.unit,
       c.value, c.symbol, c.sn_median, c.region_name, c.region, c.england, c.change, c.rank, c.rank_of, c.quartile,
       c.series_note
from comparisons c
join measures m on m.measure_id = c.measure_id
where c.area_code = (select area_code from pick)
  and c.measure_id = coalesce(nullif(:measure, ''), 'turnover_rate_fte')
  and c.provisional = 0
order by c.time_period
