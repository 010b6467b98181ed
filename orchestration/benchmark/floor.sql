-- The floor: the ten indicators of the catalogue for every unit of every level and Stichtag,
-- hand-written as one DuckDB statement over the raw tables, with the default age limits.
-- The benchmark times it against the pipeline and checks the marts against it. A city or a Kreis:
-- addresses are matched within their Gemeinde (street keys are a Gemeinde's own; {gemeinde} is the
-- column gemeinde of a Kreis's raw tables, null in a city's: run_one.floor_sql), and every
-- Baublock's units are found by walking up from its lowest unit (its Stadtviertel, or its
-- Stadtteil in a Gemeinde without Stadtviertel) to each parent, at the parent's level (Oberebene)
-- or the next nested one up.
create or replace temp table floor_result as
with recursive
addresses as (
    select
        {gemeinde} as gemeinde, street_key, house_number, coalesce(lower(trim(house_number_suffix)), '') as suffix,
        regexp_replace(regexp_replace(regexp_replace(
            replace(replace(replace(replace(lower(trim(street_name)), 'ß', 'ss'), 'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'),
            '[^a-z0-9]', '', 'g'), '(strasse|str)$', 'str'), '(platz|pl)$', 'pl') as street,
        block_code, valid_from, valid_to
    from raw.geo_addresses
),
areas as (
    select level, area_code, parent_code, valid_from, coalesce(valid_to, date '9999-12-31') as valid_to,
        coalesce(parent_level, case level when 'stadtviertel' then 'stadtteil' when 'stadtteil' then 'stadtbezirk'
            when 'stadtbezirk' then 'gemeinde' when 'gemeinde' then 'kreis' end) as parent_level
    from raw.geo_areas
),
nested (block_code, level, area_code, valid_from, valid_to) as (
    select block_code, level, area_code, valid_from, coalesce(valid_to, date '9999-12-31')
    from raw.geo_block_membership where level <> 'sozialraum'
    union all
    select n.block_code, a.parent_level, a.parent_code, greatest(n.valid_from, a.valid_from), least(n.valid_to, a.valid_to)
    from nested n join areas a on a.level = n.level and a.area_code = n.area_code
        and a.valid_from <= n.valid_to and a.valid_to >= n.valid_from
    where a.parent_code is not null
),
membership as (
    -- every Baublock of the Gebietsgliederung, with or without addresses (a park has none), while it
    -- belongs to its lowest unit
    select block_code, 'baublock' as level, block_code as area_code, valid_from, coalesce(valid_to, date '9999-12-31') as valid_to
        from raw.geo_block_membership where level <> 'sozialraum'
    union all select block_code, level, area_code, valid_from, valid_to from nested
    union all select block_code, level, area_code, valid_from, coalesce(valid_to, date '9999-12-31')
        from raw.geo_block_membership where level = 'sozialraum'
),
stichtage as (select distinct stichtag from raw.register_persons),
persons as (
    select p.stichtag, a.block_code, p.household_key,
        extract(year from p.stichtag) - p.birth_year - case when p.birth_month > extract(month from p.stichtag) then 1 else 0 end as age,
        p.nationality_1 <> '000' and coalesce(p.nationality_2, '') <> '000' as is_foreign
    from (select *, {gemeinde} as in_gemeinde from raw.register_persons) p
    join addresses a on a.gemeinde is not distinct from p.in_gemeinde and a.street_key = p.street_key
        and a.house_number = p.house_number
        and a.suffix = coalesce(lower(trim(p.house_number_suffix)), '')
        and a.valid_from <= p.stichtag and coalesce(a.valid_to, date '9999-12-31') >= p.stichtag
    where p.residence_status = 'H'
),
population as (
    select block_code, stichtag, count(*) as residents,
        count(*) filter (where age < 18) as minor, count(*) filter (where age >= 65) as senior,
        count(*) filter (where age < 20) as young, count(*) filter (where age >= 20 and age < 65) as working,
        count(*) filter (where age >= 15 and age <= 64) as working_age, count(*) filter (where age < 65) as below_65,
        count(*) filter (where is_foreign) as foreign_nationals
    from persons group by block_code, stichtag
),
households as (
    select stichtag, household_key, min(block_code) as block_code,
        count(*) filter (where age >= 18) as adults, count(*) filter (where age < 18) as minors
    from persons group by stichtag, household_key
),
household_counts as (
    select block_code, stichtag, count(*) filter (where minors > 0) as with_children,
        count(*) filter (where minors > 0 and adults = 1) as single_parent
    from households group by block_code, stichtag
),
moves as (
    select m.stichtag, m.event_type, f.block_code as from_block, t.block_code as to_block
    from (select *, {gemeinde} as in_gemeinde from raw.register_movements) m
    left join addresses f on f.gemeinde is not distinct from m.in_gemeinde and f.street_key = m.from_street_key and f.house_number = m.from_house_number
        and f.suffix = coalesce(lower(trim(m.from_house_number_suffix)), '')
        and f.valid_from <= m.event_date and coalesce(f.valid_to, date '9999-12-31') >= m.event_date
    left join addresses t on t.gemeinde is not distinct from m.in_gemeinde and t.street_key = m.to_street_key and t.house_number = m.to_house_number
        and t.suffix = coalesce(lower(trim(m.to_house_number_suffix)), '')
        and t.valid_from <= m.event_date and coalesce(t.valid_to, date '9999-12-31') >= m.event_date
    where m.event_type in ('ZUZUG', 'FORTZUG', 'UMZUG')
),
migration as (
    select block_code, stichtag, sum(delta) as balance from (
        select to_block as block_code, stichtag, 1 as delta from moves
        where to_block is not null and (from_block is null or from_block <> to_block)
        union all
        select from_block, stichtag, -1 from moves
        where from_block is not null and (to_block is null or to_block <> from_block)
    ) group by block_code, stichtag
),
sgb2 as (
    select j.stichtag, a.block_code
    from (select *, {gemeinde} as in_gemeinde from raw.jobcenter_sgb2) j
    join addresses a on a.gemeinde is not distinct from j.in_gemeinde and a.street = regexp_replace(regexp_replace(regexp_replace(
            replace(replace(replace(replace(lower(trim(j.street_name)), 'ß', 'ss'), 'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'),
            '[^a-z0-9]', '', 'g'), '(strasse|str)$', 'str'), '(platz|pl)$', 'pl')
        and a.house_number = try_cast(regexp_extract(j.house_number_text, '^\s*(\d+)', 1) as integer)
        and a.suffix = lower(regexp_extract(j.house_number_text, '^\s*\d+\s*([A-Za-z]?)', 1))
        and a.valid_from <= j.stichtag and coalesce(a.valid_to, date '9999-12-31') >= j.stichtag
),
sgb2_counts as (select block_code, stichtag, count(*) as recipients from sgb2 group by block_code, stichtag),
ba as (
    select block_code, stichtag, coalesce(unemployed_total, 0) as unemployed from raw.ba_labour_market
),
block_values as (
    select k.block_code, k.stichtag,
        coalesce(p.residents, 0) as residents, coalesce(p.minor, 0) as minor, coalesce(p.senior, 0) as senior,
        coalesce(p.young, 0) as young, coalesce(p.working, 0) as working, coalesce(p.working_age, 0) as working_age,
        coalesce(p.below_65, 0) as below_65, coalesce(p.foreign_nationals, 0) as foreign_nationals,
        coalesce(h.with_children, 0) as with_children, coalesce(h.single_parent, 0) as single_parent,
        coalesce(m.balance, 0) as balance, coalesce(s.recipients, 0) as recipients, coalesce(b.unemployed, 0) as unemployed
    from (select distinct block_code, stichtag from (
            select block_code, stichtag from population union all select block_code, stichtag from migration
            union all select block_code, stichtag from sgb2_counts union all select block_code, stichtag from ba)) k
    left join population p using (block_code, stichtag)
    left join household_counts h using (block_code, stichtag)
    left join migration m using (block_code, stichtag)
    left join sgb2_counts s using (block_code, stichtag)
    left join ba b using (block_code, stichtag)
),
area_values as (
    select ms.level, ms.area_code, st.stichtag,
        coalesce(sum(v.residents), 0) as residents, coalesce(sum(v.minor), 0) as minor, coalesce(sum(v.senior), 0) as senior,
        coalesce(sum(v.young), 0) as young, coalesce(sum(v.working), 0) as working,
        coalesce(sum(v.working_age), 0) as working_age, coalesce(sum(v.below_65), 0) as below_65,
        coalesce(sum(v.foreign_nationals), 0) as foreign_nationals, coalesce(sum(v.with_children), 0) as with_children,
        coalesce(sum(v.single_parent), 0) as single_parent, coalesce(sum(v.balance), 0) as balance,
        coalesce(sum(v.recipients), 0) as recipients, coalesce(sum(v.unemployed), 0) as unemployed
    from membership ms
    join stichtage st on ms.valid_from <= st.stichtag and ms.valid_to >= st.stichtag
    left join block_values v on v.block_code = ms.block_code and v.stichtag = st.stichtag
    group by ms.level, ms.area_code, st.stichtag
)
select level, area_code as area_id, stichtag,
    residents::double as residents,
    100.0 * minor / nullif(residents, 0) as share_under_18,
    100.0 * senior / nullif(residents, 0) as share_65_plus,
    100.0 * young / nullif(working, 0) as jugendquotient,
    100.0 * senior / nullif(working, 0) as altenquotient,
    100.0 * foreign_nationals / nullif(residents, 0) as share_foreign,
    100.0 * recipients / nullif(below_65, 0) as sgb2_quote,
    100.0 * unemployed / nullif(working_age, 0) as unemployed_per_100,
    1000.0 * balance / nullif(residents, 0) as migration_balance_per_1000,
    100.0 * single_parent / nullif(with_children, 0) as single_parent_share
from area_values
