{#- Residents (main residence) per Baublock and Stichtag, by the age groups and attributes the
    indicators need: one keyed count per measure the Kennzahlenkatalog assigns to this model, of the
    residents that meet its `condition` (the age limits of the quotients are dbt vars in
    dbt_project.yml, named in the conditions). -#}
{{ config(**stichtag_incremental()) }}
with persons as (
    select * from {{ ref('int_persons_assigned_to_blocks') }}
    where is_resident and block_id is not null and {{ stichtag_rebuilt('stichtag') }}
),

counted as (
    select
        block_id,
        stichtag,
        {{ catalogue_counts('int_block_population_measures') | join(",\n        ") }}
    from persons
    group by block_id, stichtag
)

select * from counted
