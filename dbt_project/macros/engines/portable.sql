{#- SQL that the engines spell differently (docs/deployment.md): DuckDB, and Spark where it differs. dbt's
    cross-database macros (dbt.type_string(), dbt.dateadd(), …) first; these are the ones dbt lacks. -#}

{#- The values of `expression` in a group joined by `delimiter` (a SQL string literal), in the order
    of the columns `order_by` (a list; default: the expression itself), nulls left out. dbt's
    listagg cannot order on Spark, so Spark sorts structs of the order columns and the value. -#}
{% macro ordered_list(expression, delimiter="','", order_by=none) -%}
    {{ return(adapter.dispatch('ordered_list', 'sozialmonitor')(expression, delimiter, order_by or [expression])) }}
{%- endmacro %}

{% macro default__ordered_list(expression, delimiter, order_by) -%}
    string_agg({{ expression }}, {{ delimiter }} order by {{ order_by | join(', ') }})
{%- endmacro %}

{% macro spark__ordered_list(expression, delimiter, order_by) -%}
    array_join(transform(array_sort(collect_list(case when {{ expression }} is not null then named_struct(
        {%- for column in order_by %}'k{{ loop.index }}', {{ column }}, {% endfor %}'v', {{ expression }}) end)),
        s -> s.v), {{ delimiter }})
{%- endmacro %}

{#- A double as the nearest whole number (bigint), ties to even: DuckDB's cast rounds so, Spark's
    cast cuts the fraction off (a published sum of living space came out 1 lower). -#}
{% macro nearest_bigint(expression) -%}
    {{ return(adapter.dispatch('nearest_bigint', 'sozialmonitor')(expression)) }}
{%- endmacro %}

{% macro default__nearest_bigint(expression) -%}
    cast({{ expression }} as bigint)
{%- endmacro %}

{% macro spark__nearest_bigint(expression) -%}
    cast(rint({{ expression }}) as bigint)
{%- endmacro %}

{#- A double rounded to `digits` decimals for publication, the same on every engine: half away
    from zero, of its value to 10 decimals (as a decimal). `round` of a double differs: DuckDB rounds
    the binary value, Spark the shortest decimal that reads back as it, so 20781.3 m² over 400
    residents (51.95325, as a double a hair below) was published 51.9532 by DuckDB and 51.9533 by
    Spark (the 20-Gemeinden Musterkreis). Portable SQL: no dispatch. The same on both engines as
    long as the double times 10^10 is exact in a double (DuckDB casts so): whole numbers up to
    about 9 * 10^8, others below about 9 * 10^5; the catalogue's values (shares, rates, per-person
    figures, counts) stay within that. NaN and infinity are refused by the cast: no value is
    published that is not a number (divisions by zero are null before). -#}
{% macro published_round(expression, digits) -%}
    cast(round(cast({{ expression }} as decimal(38, 10)), {{ digits }}) as double)
{%- endmacro %}

{#- The columns `measures` of the CTE or relation `source` (aliased `u`) as rows: the columns `keys`
    as they are, the column's name as `measure` and its value as a double `value` (null where it is
    null), and per entry (name, {measure: expression}) of `extra` a double column `name` with the
    expression of the row's measure (null for a measure without one). DuckDB: one `union all` branch
    per measure. Spark: its `stack` generator, one scan of the source; the 78 branches of `union all`
    had Spark plan and read the source 78 times (42 s for disclosure_cells on the test city). -#}
{% macro unpivot_measures(source, keys, measures, extra=[]) -%}
    {{ return(adapter.dispatch('unpivot_measures', 'sozialmonitor')(source, keys, measures, extra)) }}
{%- endmacro %}

{% macro default__unpivot_measures(source, keys, measures, extra) -%}
    {%- for measure in measures %}
    select
        {%- for key in keys %} u.{{ key }},{% endfor %}
        '{{ measure }}' as measure,
        cast(u.{{ measure }} as double) as value
        {%- for name, expressions in extra %},
        {{ expressions.get(measure, 'cast(null as double)') }} as {{ name }}
        {%- endfor %}
    from {{ source }} as u
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{% macro spark__unpivot_measures(source, keys, measures, extra) -%}
    select
        {%- for key in keys %} u.{{ key }},{% endfor %}
        stack({{ measures | length }},
            {%- for measure in measures %}
            '{{ measure }}', cast(u.{{ measure }} as double)
            {%- for name, expressions in extra %}, cast({{ expressions.get(measure, 'null') }} as double){% endfor %}
            {{- "," if not loop.last }}
            {%- endfor %}
        ) as (measure, value{% for name, _ in extra %}, {{ name }}{% endfor %})
    from {{ source }} as u
{%- endmacro %}

{#- True where `text` contains a match of the regular expression `pattern` (given as it is, without
    quotes or SQL escapes; both engines read \x{…} escapes: RE2 and java.util.regex). -#}
{% macro matches_pattern(text, pattern) -%}
    {{ return(adapter.dispatch('matches_pattern', 'sozialmonitor')(text, pattern)) }}
{%- endmacro %}

{% macro default__matches_pattern(text, pattern) -%}
    regexp_matches({{ text }}, {{ sozialmonitor.regex_literal("'" ~ pattern ~ "'") }})
{%- endmacro %}

{% macro spark__matches_pattern(text, pattern) -%}
    {{ text }} rlike {{ sozialmonitor.regex_literal("'" ~ pattern ~ "'") }}
{%- endmacro %}

{#- A regular expression given as a SQL string literal ('…'), spelled so that the engine hands its
    backslashes to the regex engine as they are: DuckDB's literals keep backslashes; Spark reads them
    as escapes ('\\d' would become 'd'), so Spark gets a raw literal (r'…'). -#}
{% macro regex_literal(literal) -%}
    {{ return(adapter.dispatch('regex_literal', 'sozialmonitor')(literal)) }}
{%- endmacro %}

{% macro default__regex_literal(literal) -%}
    {{ literal }}
{%- endmacro %}

{% macro spark__regex_literal(literal) -%}
    r{{ literal }}
{%- endmacro %}

{#- Seeds on Spark: dbt-spark's session cursor writes its bindings as '<value>', so an empty CSV
    field became the text 'None' and a quote in a text broke the statement. The rows are written as
    literals here instead: null, numbers as they are, everything else as an escaped text literal. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- set value = row[loop.index0] -%}
                    cast({{ sozialmonitor.spark_literal(value) }} as {{ type }})
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first %}{% do statements.append(sql) %}{% endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{% macro spark_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
