{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('jobcenter', 'jobcenter_sgb2') }}
),

renamed as (
    select
        stichtag,
        {{ gemeinde_of('jobcenter_sgb2') }} as gemeinde,
        bg_number,
        member_number,
        bg_number || '-' || cast(member_number as {{ dbt.type_string() }}) as record_id,
        age,
        sex,
        employable = 'j' as is_employable,
        street_name,
        {{ normalize_street_name('street_name') }} as street_name_normalized,
        house_number_text,
        {{ house_number_from_text('house_number_text') }} as house_number,
        {{ house_number_suffix_from_text('house_number_text') }} as house_number_suffix,
        postcode,
        months_in_receipt,
        entitlement_eur,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
