-- title: League table
-- description: Every council's value for one measure in one reporting year, lowest first, with rank, quartile and the gap to its statistical-neighbour median and to England. :measure takes a measure id (default turnover_rate_fte; see the measures table); :year defaults to the latest year. Councils with a DfE symbol instead of a value are listed last.
-- example: measure=turnover_rate_fte&year=2025
select c.rank, c.rank_of, c.area_code, c.area_name, c.region_name, m.label as measure, m.unit,
       c.value, c.symbol, c.quartile, c.sn_median, c.diff_sn_median, c.england, c.diff_england, c.time_period
from comparisons c
join measures m on m.measure_id = c.measure_id
where c.measure_id = coalesce(nullif(:measure, ''), 'turnover_rate_fte')
  and c.time_period = coalesce(nullif(:year, ''), (select max(time_period) from comparisons where provisional = 0)) + 0
  and c.provisional = 0
order by c.value is null, c.value, c.area_name
