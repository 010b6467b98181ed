{#- Records of the departments that deliver addresses as typed (Jobcenter SGB II members,
    Sozialamt SGB XII cases, Wohngeld households), assigned to a Baublock by the normalised
    street name, house number and suffix through the address register valid at the Stichtag. -#}
{{ config(**stichtag_incremental()) }}
with sgb2 as (
    select
        'jobcenter_sgb2' as source, stichtag, gemeinde, record_id, street_name_normalized, house_number,
        house_number_suffix, age, is_employable, cast(null as {{ dbt.type_string() }}) as benefit_type,
        cast(null as integer) as household_size, months_in_receipt, _record_key
    from {{ ref('stg_jobcenter__sgb2_members') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

sgb12 as (
    select
        'sozialamt_sgb12' as source, stichtag, gemeinde, record_id, street_name_normalized, house_number,
        house_number_suffix, age, cast(null as boolean) as is_employable, benefit_type,
        cast(null as integer) as household_size, cast(null as integer) as months_in_receipt, _record_key
    from {{ ref('stg_sozialamt__sgb12_cases') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

wohngeld as (
    select
        'wohngeld' as source, stichtag, gemeinde, record_id, street_name_normalized, house_number,
        house_number_suffix, cast(null as integer) as age, cast(null as boolean) as is_employable,
        cast(null as {{ dbt.type_string() }}) as benefit_type, household_size, cast(null as integer) as months_in_receipt,
        _record_key
    from {{ ref('stg_wohngeld__households') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

records as (
    select * from sgb2
    union all
    select * from sgb12
    union all
    select * from wohngeld
),

{{ assign_typed_addresses('records') }}
