-- title: A region's councils
-- description: The key measures for every council in one English region in one reporting year, with the region and England figures for comparison. :region takes a region name or E12 code (default North East; Inner and Outer London boroughs are part of London); :year defaults to the latest year.
-- example: region=North East&year=2025
with reg as (
  select area_code, area_name from areas
  where level = 'Regional'
    and (area_code = trim(coalesce(nullif(:region, ''), 'E12000001'))
         or lower(area_name) = lower(trim(:region)))
  limit 1
),
yr as (
  select coalesce(nullif(:year, ''), (select max(time_period) from comparisons where provisional = 0)) + 0 as y
)
select c.area_code, c.area_name, c.time_period,
       max(case when c.measure_id = 'inpost_fte' then c.value end) as inpost_fte,
       max(case when c.measure_id = 'turnover_rate_fte' then c.value end) as turnover_rate_fte,
       max(case when c.measure_id = 'agency_rate_fte' then c.value end) as agency_rate_fte,
       max(case when c.measure_id = 'vacancy_rate_fte' then c.value end) as vacancy_rate_fte,
       max(case when c.measure_id = 'caseload_fte' then c.value end) as caseload_fte,
       max(case when c.measure_id = 'absence_rate_fte' then c.value end) as absence_rate_fte,
       max(case when c.measure_id = 'turnover_rate_fte' then c.england end) as turnover_rate_fte_england,
       max(case when c.measure_id = 'agency_rate_fte' then c.england end) as agency_rate_fte_england,
       max(case when c.measure_id = 'vacancy_rate_fte' then c.england end) as vacancy_rate_fte_england,
       max(case when c.measure_id = 'caseload_fte' then c.england end) as caseload_fte_england
from comparisons c
join areas a on a.area_code = c.area_code
where (a.region_code = (select area_code from reg) or a.london_region_code = (select area_code from reg))
  and c.time_period = (select y from yr)
  and c.provisional = 0
group by c.area_code, c.area_name, c.time_period
order by c.area_name
