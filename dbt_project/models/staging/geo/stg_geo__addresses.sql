with source as (
    select * from {{ source('gebiete', 'geo_addresses') }}
),

renamed as (
    select
        address_id,
        {{ gemeinde_of('geo_addresses') }} as gemeinde,
        street_key,
        street_name,
        {{ normalize_street_name('street_name') }} as street_name_normalized,
        cast(house_number as integer) as house_number,
        {{ normalize_suffix('house_number_suffix') }} as house_number_suffix,
        block_code as block_id,
        postcode,
        x_utm,
        y_utm,
        valid_from,
        valid_to,
        _source_file,
        _source_line
    from source
)

select * from renamed
