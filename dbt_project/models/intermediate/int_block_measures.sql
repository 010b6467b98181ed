{#- All measures per Baublock and Stichtag in one wide row (0 where a source delivered but had
    nothing for the Baublock; availability per source is decided at the area level). -#}
{%- set registry = measure_registry() -%}
{%- set models = [] -%}
{%- for group in registry %}{% if group.model not in models %}{% do models.append(group.model) %}{% endif %}{% endfor %}

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

{%- set columns = [] -%}
{%- set keyed = keyed_measures() -%}
{%- for group in registry -%}
{%- for measure in group.measures -%}
{%- do columns.append("coalesce(" ~ group.model ~ "." ~ measure ~ ", 0) as " ~ measure) -%}
{%- if measure in keyed -%}
{%- do columns.append("coalesce(" ~ group.model ~ "." ~ measure ~ "__key, 0) as " ~ measure ~ "__key") -%}
{%- endif -%}
{%- if measure in group.suppressed -%}
{%- do columns.append("coalesce(" ~ group.model ~ "." ~ group.suppressed[measure] ~ ", 0) as " ~ measure ~ "_suppressed_cells") -%}
{%- endif -%}
{%- endfor -%}
{%- endfor %}

final as (
    select
        k.block_id,
        k.stichtag,
        {{ columns | join(",\n        ") }}
    from keys as k
    {% for model in models %}
    left join {{ model }}
        on {{ model }}.block_id = k.block_id
        and {{ model }}.stichtag = k.stichtag
    {% endfor %}
)

select * from final
