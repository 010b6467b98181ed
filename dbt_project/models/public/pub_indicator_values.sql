{#- The indicator values that leave the warehouse: public levels only (no Baublöcke), rounded,
    with primary suppression: a value whose numerator or denominator counts fewer than
    var('disclosure_min_count') persons (but more than none) is withheld, and so are its counts. -#}
{{ config(alias='indicator_values') }}
{%- set min_count = var('disclosure_min_count') -%}

with values_ as (
    select * from {{ ref('fct_indicator_values') }}
    where level in ({% for l in var('public_levels') %}'{{ l }}'{{ ", " if not loop.last }}{% endfor %})
),

areas as (
    select * from {{ ref('dim_area') }}
),

flagged as (
    select
        v.*,
        a.area_name,
        (
            (v.numerator is not null and abs(v.numerator) > 0 and abs(v.numerator) < {{ min_count }})
            or (v.denominator is not null and v.denominator > 0 and v.denominator < {{ min_count }})
        ) as is_suppressed
    from values_ as v
    left join areas as a
        on a.level = v.level
        and a.area_id = v.area_id
        and {{ valid_at('a', 'v.stichtag') }}
),

final as (
    select
        indicator_id,
        level,
        area_id,
        area_name,
        stichtag,
        case when is_suppressed then null else round(value, {{ var('public_decimals') }}) end as value,
        case when is_suppressed then null else cast(numerator as bigint) end as numerator,
        case when is_suppressed then null else cast(denominator as bigint) end as denominator,
        unit,
        is_suppressed,
        nullif(concat_ws(',', flags, case when is_suppressed then 'suppressed_primary' end), '') as flags
    from flagged
)

select * from final
