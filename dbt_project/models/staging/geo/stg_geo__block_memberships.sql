with source as (
    select * from {{ source('gebiete', 'geo_block_membership') }}
),

renamed as (
    select
        block_code as block_id,
        level,
        area_code as area_id,
        valid_from,
        valid_to,
        _source_file,
        _source_line
    from source
)

select * from renamed
