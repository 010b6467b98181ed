{#- The units of the Gebietsgliederung. parent_level is the level of the parent unit: as delivered
    (Oberebene), else the next nested level; for a non-nested unit (Sozialraum) the top nested
    level; null for the top level. -#}
{%- set nested = var('nested_levels') -%}

with source as (
    select * from {{ source('gebiete', 'geo_areas') }}
),

renamed as (
    select
        level,
        area_code as area_id,
        area_name,
        case
            when parent_level is not null then parent_level
            {%- for level in nested[:-1] %}
            when level = '{{ level }}' then '{{ nested[loop.index] }}'
            {%- endfor %}
            when level = '{{ nested[-1] }}' then null
            else '{{ nested[-1] }}'
        end as parent_level,
        parent_code as parent_id,
        valid_from,
        valid_to,
        _source_file,
        _source_line
    from source
)

select * from renamed
