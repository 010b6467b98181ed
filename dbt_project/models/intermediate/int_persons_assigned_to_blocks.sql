{#- Register persons at each Stichtag with the Baublock of their address, assigned through the
    address register valid at that Stichtag. Persons whose address is not in the register keep a
    null block_id: they are counted in fct_address_assignment, never dropped silently.
    A view (`stichtag_rows`): a Stichtag's rows are that Stichtag's register rows, each with the
    address valid then, and the addresses are reference data, which only a full build changes
    (orchestration/build_plan.py). Its readers (the households, the population measures and the
    address assignment, for the Stichtage they rebuild; the reconciliation gate) each aggregate
    it in one pass. As a table it wrote 23.7 M rows of pseudonyms and short ids at Berlin size
    (19 s alone, 34 s in the build, on the build's longest path), more than its readers spend
    computing the join again (docs/performance.md). -#}
{{ config(**stichtag_rows()) }}
with persons as (
    select * from {{ ref('stg_register__persons') }}
),

addresses as (
    select * from {{ ref('stg_geo__addresses') }}
),

assigned as (
    select
        p.stichtag,
        p.person_key,
        p.age,
        p.sex,
        p.is_foreign,
        p.has_migration_background,
        p.household_key,
        p.is_resident,
        p.moved_in_date,
        p._record_key,
        a.address_id,
        a.block_id
    from persons as p
    left join addresses as a
        on {{ same_gemeinde('a', 'p') }}
        and a.street_key = p.street_key
        and a.house_number = p.house_number
        and a.house_number_suffix = p.house_number_suffix
        and {{ valid_at('a', 'p.stichtag') }}
)

select * from assigned
