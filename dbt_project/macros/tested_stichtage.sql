{#- Data tests in an incremental build (docs/architecture.md, "Incremental Stichtage"): a test of a
    model whose rows of a Stichtag follow from that Stichtag's inputs alone checks only the rows
    that this build can have changed. Sound because the other rows are those an earlier build
    wrote and tested: a build is recorded as succeeded only when every test passed; the plan builds
    incrementally only when the code that shapes the tables is unchanged (its fingerprint), and
    sets `test_rebuilt_stichtage_only` (macros/build_plan.sql) only when the data tests are
    unchanged too (else every row is tested, as in a full build); a failed build's Stichtage are
    rebuilt, and so retested, by the next one. A full build, and any build without a plan, tests
    every row.

    A model declares it with config `stichtag_tests`:
    - 'rebuilt': the rows of the rebuilt Stichtage and of those its `stichtag_lags` make it rebuild
      (every model configured by stichtag_incremental, and the views of stichtag_rows(): a
      Stichtag's extract, a wide indicator view; all rows of one on today's Gebietsstand when
      that moved);
    - 'from_earliest': the rows on or after the earliest rebuilt Stichtag (a gate view whose row
      of a Stichtag also reads the Stichtag before it).
    Only tests that hold row by row (or, for unique_combination and unique_key, group by group
    within a Stichtag: their key holds the Stichtag) are scoped; any other test of such a model checks every row.
    The config says which rows an incremental build can change, and serving on Spark relies on it
    too: a view with it is written by Stichtag, and after an incremental build only those rows are
    written again (orchestration/spark_build.py). -#}

{#- Generic tests whose result on a set of rows is the union of their results on its Stichtage. -#}
{% macro _stichtag_separable_tests() -%}
    {{ return(["not_null", "columns_not_null", "accepted_values", "expression_is_true", "relationships",
               "plain_text", "as_many_rows_per_stichtag_as"]) }}
{%- endmacro %}

{#- The Stichtage this build rebuilt when its tests may be scoped to them (a list of ISO dates,
    maybe empty); none when every row is to be tested. -#}
{% macro tested_rebuilt_stichtage() -%}
    {%- if not build_plan('test_rebuilt_stichtage_only', false) or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(listed_stichtage(build_plan('rebuild_stichtage'))) }}
{%- endmacro %}

{#- The condition on a row's Stichtag `column` that selects the rows a test checks (`scope` as the
    config `stichtag_tests` above, `lags` those of the model); (1 = 1) when every row is tested. -#}
{% macro stichtag_tested(column, scope, lags=[]) -%}
    {%- set chosen = tested_rebuilt_stichtage() -%}
    {%- if chosen is none or scope not in ('rebuilt', 'from_earliest') -%}
        (1 = 1)
    {%- elif scope == 'from_earliest' and chosen | length > 0 -%}
        ({{ column }} >= cast('{{ chosen | first }}' as date))
    {%- else -%}
        {{- stichtage_condition(column, chosen, lags) -}}
    {%- endif -%}
{%- endmacro %}

{#- The rows a generic data test of the current test node checks: the tested model's config
    `stichtag_tests` and the test's kind decide (see above); none = all. -#}
{% macro _generic_test_stichtag_scope() -%}
    {%- if not execute or tested_rebuilt_stichtage() is none -%}
        {{ return(none) }}  {#- (parsing: dbt's graph is not there yet) -#}
    {%- endif -%}
    {%- set meta = model.get('test_metadata') or {} -%}
    {%- set tested = (graph.get('nodes') or {}).get(model.get('attached_node') or '') -%}
    {%- if not meta or tested is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set scope = tested.config.get('stichtag_tests') -%}
    {%- set kwargs = meta.get('kwargs') or {} -%}
    {%- set key = kwargs.get('combination') if meta.name == 'unique_combination'
        else (kwargs.get('columns') if meta.name == 'unique_key' else none) -%}
    {%- set separable = meta.name in _stichtag_separable_tests() or 'stichtag' in (key or []) -%}
    {%- if scope not in ('rebuilt', 'from_earliest') or not separable -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if tested.config.get('on_current_gebietsstand') and not build_plan('current_gebietsstand_kept', false) -%}
        {{ return(none) }}  {#- it rebuilt every Stichtag -#}
    {%- endif -%}
    {{ return(stichtag_tested('stichtag', scope, tested.config.get('stichtag_lags') or [])) }}
{%- endmacro %}

{#- dbt's own macro (the `where` config of a generic test), with the Stichtag scope added. The
    relation gets an alias of its own: Spark does not reserve WHERE, and in `<relation> where (flag)`
    took `where` for the relation's alias and `(flag)` for a list of column aliases. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set scope = _generic_test_stichtag_scope() -%}
    {%- if scope is not none -%}
        {%- do conditions.append(scope) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' as dbt_where_source where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
