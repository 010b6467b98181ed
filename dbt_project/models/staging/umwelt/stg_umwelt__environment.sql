{#- Area, green space and noise-exposed area per Baublock. -#}
{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('umwelt', 'umwelt_baublock') }}
),

renamed as (
    select
        stichtag,
        block_code as block_id,
        area_m2,
        green_m2,
        noise_m2,
        _source_file,
        _source_line
    from source
)

select * from renamed
