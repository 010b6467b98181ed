{#- Address normalisation. Departments type street names and house numbers freely
    ("Hauptstraße", "Hauptstr.", "Hauptstrasse", "hauptstraße"; "12a", "12 A"). Both the register
    and every extract go through the same macros, so they meet on one key. Kept to replace/lower/
    regexp functions that DuckDB, Spark and Trino all have; engine specifics stay in these macros. -#}

{#- "Hauptstraße", "Hauptstr.", "Hauptstrasse" → "hauptstr"; "Marktplatz", "Marktpl." → "marktpl". -#}
{% macro normalize_street_name(name) -%}
    {%- set spelled = "replace(replace(replace(replace(lower(trim(" ~ name ~ ")), 'ß', 'ss'), 'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue')" -%}
    {%- set letters = sozialmonitor.regexp_replace_all(spelled, "'[^a-z0-9]'", "''") -%}
    {{ sozialmonitor.regexp_replace_all(sozialmonitor.regexp_replace_all(letters, "'(strasse|str)$'", "'str'"), "'(platz|pl)$'", "'pl'") }}
{%- endmacro %}

{% macro house_number_from_text(text) -%}
    try_cast(nullif({{ sozialmonitor.regexp_extract_group(text, "'^\\s*(\\d+)'", 1) }}, '') as integer)
{%- endmacro %}

{% macro house_number_suffix_from_text(text) -%}
    lower({{ sozialmonitor.regexp_extract_group(text, "'^\\s*\\d+\\s*([A-Za-z]?)'", 1) }})
{%- endmacro %}

{% macro normalize_suffix(suffix) -%}
    coalesce(lower(trim({{ suffix }})), '')
{%- endmacro %}

{#- The Gemeinde a raw table's record belongs to, where it carries one: in a Kreis each Stadt
    delivers its own register and address register (contract key delivered_per) and Kreis-wide
    sources name each record's Gemeinde; street keys and street names repeat from Stadt to Stadt,
    so addresses match only within their Gemeinde. Null in a single city's tables: records and
    addresses then meet on a null Gemeinde (same_gemeinde). gemeinde_sources() is generated from
    the deployment's contracts (generated/<deployment>/macros/deployment.sql). -#}
{% macro gemeinde_of(source_table) -%}
    {%- if source_table in gemeinde_sources() -%} gemeinde {%- else -%} cast(null as {{ dbt.type_string() }}) {%- endif -%}
{%- endmacro %}

{#- Whether an address `a` and a record `r` lie in the same Gemeinde (both null in a single city). -#}
{% macro same_gemeinde(a, r) -%}
    {{ a }}.gemeinde is not distinct from {{ r }}.gemeinde
{%- endmacro %}

{% macro regexp_replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'sozialmonitor')(text, pattern, replacement)) }}
{%- endmacro %}

{#- `pattern` is a SQL string literal; regex_literal spells it so that each engine reads its
    backslashes as the regular expression's own. -#}
{% macro default__regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ sozialmonitor.regex_literal(pattern) }}, {{ replacement }})
{%- endmacro %}

{% macro duckdb__regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ sozialmonitor.regex_literal(pattern) }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro regexp_extract_group(text, pattern, group) -%}
    {{ return(adapter.dispatch('regexp_extract_group', 'sozialmonitor')(text, pattern, group)) }}
{%- endmacro %}

{% macro default__regexp_extract_group(text, pattern, group) -%}
    regexp_extract({{ text }}, {{ sozialmonitor.regex_literal(pattern) }}, {{ group }})
{%- endmacro %}

{#- The records of CTE `records` (stichtag, street_name_normalized, house_number,
    house_number_suffix) with the address and Baublock they match in the address register valid
    at the Stichtag; null when the typed address is not in the register (counted, never dropped).
    Ends the model: `select * from assigned`. -#}
{% macro assign_typed_addresses(records) %}
addresses as (
    select * from {{ ref('stg_geo__addresses') }}
),

assigned as (
    select
        r.*,
        a.address_id,
        a.block_id
    from {{ records }} as r
    left join addresses as a
        on {{ same_gemeinde('a', 'r') }}
        and a.street_name_normalized = r.street_name_normalized
        and a.house_number = r.house_number
        and a.house_number_suffix = coalesce(r.house_number_suffix, '')
        and {{ valid_at('a', 'r.stichtag') }}
)

select * from assigned
{% endmacro %}
