{#- Transitions from grade 4 to a secondary school in the year ending at the Stichtag. -#}
{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('schulamt', 'schulamt_uebergaenge') }}
),

renamed as (
    select
        stichtag,
        {{ gemeinde_of('schulamt_uebergaenge') }} as gemeinde,
        pupil_number as record_id,
        street_name,
        {{ normalize_street_name('street_name') }} as street_name_normalized,
        house_number_text,
        {{ house_number_from_text('house_number_text') }} as house_number,
        {{ house_number_suffix_from_text('house_number_text') }} as house_number_suffix,
        school_type,
        school_type = 'GY' as is_gymnasium,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
