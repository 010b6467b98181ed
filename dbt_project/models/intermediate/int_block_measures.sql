{#- All measures per Baublock and Stichtag in one wide row (0 where a source delivered but had
    nothing for the Baublock; availability per source is decided at the area level). Lagged
    measures (the catalogue's `lag_years`) are the same Baublock's value that many years before the
    Stichtag: summed over an area's Baublöcke at the Stichtag, they give the area's earlier value on
    the Gebietsstand of the Stichtag. -#}
{%- set registry = measure_registry() -%}
{%- set keyed = keyed_measures() -%}
{%- set models = [] -%}
{%- set lags = [] -%}
{%- for group in registry %}
{%- if group.model and group.model not in models %}{% do models.append(group.model) %}{% endif %}
{%- if group.lag_years %}{% do lags.append(group) %}{% endif %}
{%- endfor %}

with
{% for model in models %}
{{ model }} as (
    select * from {{ ref(model) }}
),
{% endfor %}

keys as (
    {% for model in models %}
    select block_id, stichtag from {{ model }}
    {% if not loop.last %}union{% endif %}
    {% endfor %}
),

{#- The Baublock measures of every model (null where a model has no row for the Baublock), and
    the same with 0 for null plus the lagged measures, as the final columns. -#}
{%- set current_columns = [] -%}
{%- set final_columns = [] -%}
{%- for group in registry if group.model -%}
{%- for measure in group.measures -%}
{%- set names = [measure] -%}
{%- if measure in keyed %}{% do names.append(measure ~ '__key') %}{% endif -%}
{%- if measure in group.suppressed %}{% do names.append(measure ~ '_suppressed_cells') %}{% endif -%}
{%- for name in names -%}
{%- set source_column = group.suppressed[measure] if name.endswith('_suppressed_cells') else name -%}
{%- do current_columns.append(group.model ~ "." ~ source_column ~ " as " ~ name) -%}
{%- do final_columns.append("coalesce(c." ~ name ~ ", 0) as " ~ name) -%}
{%- endfor -%}
{%- endfor -%}
{%- endfor -%}
{%- for lag in lags -%}
{%- do final_columns.append("coalesce(l" ~ loop.index ~ "." ~ lag.of ~ ", 0) as " ~ lag.measures[0]) -%}
{%- do final_columns.append("coalesce(l" ~ loop.index ~ "." ~ lag.of ~ "__key, 0) as " ~ lag.measures[0] ~ "__key") -%}
{%- endfor %}

current_values as (
    select
        k.block_id,
        k.stichtag,
        {{ current_columns | join(",\n        ") }}
    from keys as k
    {% for model in models %}
    left join {{ model }}
        on {{ model }}.block_id = k.block_id
        and {{ model }}.stichtag = k.stichtag
    {% endfor %}
),

stichtage as (
    select * from {{ ref('int_stichtage') }}
),

all_keys as (
    -- a Baublock without residents today may have had some earlier: it keeps a row for its lags
    select block_id, stichtag from current_values
    {%- for lag in lags %}
    union
    select c.block_id, s.stichtag
    from current_values as c
    inner join stichtage as s
        on s.stichtag = cast({{ dbt.dateadd('year', lag.lag_years, 'c.stichtag') }} as date)
    {%- endfor %}
),

final as (
    select
        k.block_id,
        k.stichtag,
        {{ final_columns | join(",\n        ") }}
    from all_keys as k
    left join current_values as c
        on c.block_id = k.block_id
        and c.stichtag = k.stichtag
    {%- for lag in lags %}
    left join current_values as l{{ loop.index }}
        on l{{ loop.index }}.block_id = k.block_id
        and l{{ loop.index }}.stichtag = cast({{ dbt.dateadd('year', -lag.lag_years, 'k.stichtag') }} as date)
    {%- endfor %}
)

select * from final
