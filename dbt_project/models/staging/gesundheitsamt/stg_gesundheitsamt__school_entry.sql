{#- School-entry examinations (Schuleingangsuntersuchung) of the year ending at the Stichtag. -#}
{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('gesundheitsamt', 'gesundheitsamt_seu') }}
),

renamed as (
    select
        stichtag,
        {{ gemeinde_of('gesundheitsamt_seu') }} as gemeinde,
        exam_number as record_id,
        cast(extract(year from birth_month) as integer) as birth_year,
        cast(extract(month from birth_month) as integer) as birth_month,
        sex,
        street_name,
        {{ normalize_street_name('street_name') }} as street_name_normalized,
        house_number_text,
        {{ house_number_from_text('house_number_text') }} as house_number,
        {{ house_number_suffix_from_text('house_number_text') }} as house_number_suffix,
        language_support = 'ja' as has_language_support_need,
        weight_status in ('uebergewichtig', 'adipoes') as is_overweight,
        motor_findings = 'auffaellig' as has_motor_findings,
        checkup_booklet <> 'nicht_vorgelegt' as booklet_presented,
        checkup_booklet = 'unvollstaendig' as checkups_incomplete,
        family_language = 'nicht_deutsch' as has_non_german_family_language,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
