{#- Children in day care (Kindertagesbetreuung) at the Stichtag. -#}
{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('jugendamt', 'jugendamt_kita') }}
),

renamed as (
    select
        stichtag,
        {{ gemeinde_of('jugendamt_kita') }} as gemeinde,
        child_number as record_id,
        birth_date,
        -- completed years at the 31.12. Stichtag
        extract(year from stichtag) - extract(year from birth_date) as age,
        street_name,
        {{ normalize_street_name('street_name') }} as street_name_normalized,
        house_number_text,
        {{ house_number_from_text('house_number_text') }} as house_number,
        {{ house_number_suffix_from_text('house_number_text') }} as house_number_suffix,
        care_hours,
        facility,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
