{#- `with x as {{ cte_not_materialized() }} (...)`: lets the engine push filters into a CTE that is
    used more than once. DuckDB (and PostgreSQL) know the hint; other engines (Spark) get nothing,
    which changes no result, only the plan. -#}
{% macro cte_not_materialized() %}
    {{- return(adapter.dispatch('cte_not_materialized', 'sozialmonitor')()) -}}
{% endmacro %}

{% macro default__cte_not_materialized() %}{% endmacro %}

{% macro duckdb__cte_not_materialized() %}not materialized{% endmacro %}
