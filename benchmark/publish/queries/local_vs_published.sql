-- title: Local figures against published
-- description: A council's own figures, aligned to DfE's definitions by csww align, beside DfE's published value for the same reporting year (where there is one), its statistical-neighbour median and England. :la takes a code or a council name (default Darlington, 841). On the public site only returns the council has marked published appear; unpublished returns live only on the private, password-protected instance.
-- example: la=841
with pick as (  -- :la as any code or name DfE or ONS has used (benchmark/councils.py pick_sql, put in by site.query_files); a joint-return member gives its return
  {{pick_council}}
)
select lo.time_period, lo.period_end, r.published, m.label as measure, lo.measure_id, m.unit,
       lo.value as local_value, lo.symbol as local_symbol, lo.comparable, lo.caveat,
       o.value as published_value, o.symbol as published_symbol,
       c.sn_median, c.england, lo.source_file
from local_observations lo
join local_returns r on r.return_id = lo.return_id
join measures m on m.measure_id = lo.measure_id
left join observations o on o.area_code = lo.area_code and o.time_period = lo.time_period
                        and o.measure_id = lo.measure_id
left join comparisons c on c.area_code = lo.area_code and c.time_period = lo.time_period
                       and c.measure_id = lo.measure_id and c.provisional = 0
where lo.area_code = (select area_code from pick)
  and lo.team = ''
order by lo.period_end desc, m.key_measure desc, m.rowid
