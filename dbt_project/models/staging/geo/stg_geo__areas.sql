with source as (
    select * from {{ source('gebiete', 'geo_areas') }}
),

renamed as (
    select
        level,
        area_code as area_id,
        area_name,
        parent_code as parent_id,
        valid_from,
        valid_to,
        _source_file,
        _source_line
    from source
)

select * from renamed
