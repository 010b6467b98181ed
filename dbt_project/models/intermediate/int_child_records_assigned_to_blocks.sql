{#- Records about children that departments deliver with addresses as typed (Gesundheitsamt
    school-entry examinations, Jugendamt day care, Schulamt transitions), assigned to a Baublock
    through the address register valid at the Stichtag, like the transfer records. -#}
{{ config(**stichtag_incremental()) }}
with school_entry as (
    select
        'gesundheitsamt_seu' as source, stichtag, gemeinde, record_id, street_name_normalized, house_number,
        house_number_suffix, cast(null as integer) as age, has_language_support_need, is_overweight,
        has_motor_findings, booklet_presented, checkups_incomplete, has_non_german_family_language,
        cast(null as boolean) as is_gymnasium, _record_key
    from {{ ref('stg_gesundheitsamt__school_entry') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

daycare as (
    select
        'jugendamt_kita' as source, stichtag, gemeinde, record_id, street_name_normalized, house_number,
        house_number_suffix, cast(age as integer) as age, null as has_language_support_need,
        null as is_overweight, null as has_motor_findings, null as booklet_presented,
        null as checkups_incomplete, null as has_non_german_family_language,
        cast(null as boolean) as is_gymnasium, _record_key
    from {{ ref('stg_jugendamt__daycare') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

transitions as (
    select
        'schulamt_uebergaenge' as source, stichtag, gemeinde, record_id, street_name_normalized, house_number,
        house_number_suffix, cast(null as integer) as age, null as has_language_support_need,
        null as is_overweight, null as has_motor_findings, null as booklet_presented,
        null as checkups_incomplete, null as has_non_german_family_language, is_gymnasium, _record_key
    from {{ ref('stg_schulamt__transitions') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

records as (
    select * from school_entry
    union all
    select * from daycare
    union all
    select * from transitions
),

{{ assign_typed_addresses('records') }}
