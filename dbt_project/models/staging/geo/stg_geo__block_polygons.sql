with source as (
    select * from {{ source('gebiete', 'geo_block_polygons') }}
),

renamed as (
    select
        block_code as block_id,
        geometry_geojson,
        _source_file,
        _source_line
    from source
)

select * from renamed
