{#- Housing stock per Stadtviertel as the Stadtplanungsamt delivers it (Gebietsstand of the year). -#}
{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('planung', 'planung_wohnen') }}
),

renamed as (
    select
        stichtag,
        area_code as area_id,
        coalesce(dwellings, 0) as dwellings,
        living_space_m2,
        coalesce(social_dwellings, 0) as social_dwellings,
        coalesce(completions, 0) as completed_dwellings,
        _source_file,
        _source_line
    from source
)

select * from renamed
