{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('melderegister', 'register_movements') }}
),

renamed as (
    select
        stichtag,
        {{ gemeinde_of('register_movements') }} as gemeinde,
        person_key,
        event_type,
        event_date,
        from_street_key,
        from_house_number,
        {{ normalize_suffix('from_house_number_suffix') }} as from_house_number_suffix,
        to_street_key,
        to_house_number,
        {{ normalize_suffix('to_house_number_suffix') }} as to_house_number_suffix,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
