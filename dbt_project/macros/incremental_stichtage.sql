{#- Incremental Stichtage (docs/architecture.md, "Incremental Stichtage"). The microdata-sized
    models are dbt `incremental` models keyed by `stichtag`: a build rebuilds only the Stichtage of
    the plan's `rebuild_stichtage` (a list of ISO dates, chosen by orchestration.build_plan from
    what was loaded since the last build; macros/build_plan.sql); the other Stichtage stay in the
    table as they were. Without a plan, on the first build and with --full-refresh every Stichtag
    is built. A model that reads a Baublock's value some years before the Stichtag (the
    catalogue's `lag_years`) names those years in its config (`stichtag_lags`): it also rebuilds
    the Stichtage that many years after a rebuilt one. Each model filters its inputs with
    `stichtag_rebuilt()` and the strategy below replaces exactly the rows that filter selects, so
    the same macro decides what is read and what is replaced. -#}

{#- The config of such a model: `{{ config(**stichtag_incremental(lags)) }}`. `on_schema_change`
    fails, so a changed model run without --full-refresh stops instead of dropping columns (the
    pipeline sees the change in its fingerprint and refreshes fully on its own).
    `on_current_gebietsstand`: the model's rows of every Stichtag also follow from today's
    Gebietsstand (the Baublöcke's memberships valid at its date, by default the latest Stichtag):
    it rebuilds only the chosen Stichtage when the plan's `current_gebietsstand_kept` says those
    memberships are the ones of the last build (orchestration.build_plan), else every Stichtag. -#}
{% macro stichtag_incremental(lags=[], on_current_gebietsstand=false) -%}
    {%- set common = {
        "materialized": "incremental",
        "on_schema_change": "fail",
        "stichtag_lags": lags,
        "stichtag_tests": "rebuilt",
        "on_current_gebietsstand": on_current_gebietsstand,
    } -%}
    {{ return(adapter.dispatch('stichtag_incremental_strategy', 'sozialmonitor')(common)) }}
{%- endmacro %}

{#- The config of a staging model whose rows of a Stichtag are its source's rows of that Stichtag,
    one for one (a Stichtag's extract renamed and typed, nothing read across Stichtage or from
    another relation): `{{ config(**stichtag_rows()) }}`. A view on both engines. Its data tests in
    an incremental build check the rows of the rebuilt Stichtage (`stichtag_tests`,
    macros/tested_stichtage.sql): the rows of the others come from the same files through the same
    SQL as in the build that tested them (the loader gives every row its file's Stichtag, and
    the build plan rebuilds every Stichtag whose files changed). On Spark an incremental table
    partitioned by Stichtag instead of the view was tried: slower (docs/performance.md).
    The same holds for a view whose rows of a Stichtag are computed from that Stichtag's rows of
    incremental models or of such views alone, with reference data a build never changes
    incrementally (the wide indicator views: fct_indicator_values and the areas valid at the
    Stichtag; the persons' address assignment: the register's rows and the addresses, which the
    build plan refreshes fully when they are loaded anew); `lags` are then those of the models it
    reads, whose lag dependants are rebuilt too. -#}
{% macro stichtag_rows(lags=[]) -%}
    {{ return({"materialized": "view", "stichtag_tests": "rebuilt", "stichtag_lags": lags}) }}
{%- endmacro %}

{#- DuckDB (and by default): the strategy below, a delete and an insert. -#}
{% macro default__stichtag_incremental_strategy(config) -%}
    {{ return(dict(config, incremental_strategy="stichtag_replace")) }}
{%- endmacro %}

{#- Spark: a table partitioned by Stichtag whose rebuilt partitions are overwritten (dbt-spark's
    insert_overwrite, dynamic partition overwrite). The model selects exactly the rows of the
    rebuilt Stichtage; its pre-hook first drops the partitions those Stichtage have in the table,
    so that a rebuilt Stichtag without rows (unloaded, or emptied by a correction) keeps none, as
    DuckDB's delete leaves none. The tables' format (Parquet) is the project's `+file_format`. -#}
{% macro spark__stichtag_incremental_strategy(config) -%}
    {{ return(dict(config, incremental_strategy="insert_overwrite", partition_by=["stichtag"],
                   pre_hook=["{{ drop_rebuilt_partitions() }}"])) }}
{%- endmacro %}

{#- The pre-hook of an incremental model on Spark: drop the partitions of the Stichtage this build
    rebuilds (those of the table that the model's own condition selects, lags included; all of
    them when the model rebuilds every Stichtag into its table, as one on today's Gebietsstand does
    when that moved). Nothing (an empty hook, which dbt skips) in a full build or when the table is
    new. -#}
{% macro drop_rebuilt_partitions() -%}
    {%- if execute and is_incremental() -%}
        {%- set found = run_query(
            "select distinct cast(stichtag as string) from " ~ this
            ~ " where " ~ stichtag_rebuilt('stichtag', config.get('stichtag_lags', []))
        ) -%}
        {%- set specs = [] -%}
        {%- for row in found.rows -%}
            {%- do specs.append("partition (stichtag = '" ~ row[0] ~ "')") -%}
        {%- endfor -%}
        {%- if specs -%}
            alter table {{ this }} drop if exists {{ specs | join(', ') }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The years the catalogue's lagged measures look back (sorted, each once): the `lags` of a model
    whose rows read the Baublock values of earlier Stichtage. -#}
{% macro catalogue_lag_years() -%}
    {%- set years = [] -%}
    {%- for group in measure_registry() if group.lag_years and group.lag_years not in years -%}
        {%- do years.append(group.lag_years) -%}
    {%- endfor -%}
    {{ return(years | sort) }}
{%- endmacro %}

{#- The Stichtage this build rebuilds, as a list of ISO date strings; none = all of them (also in
    a unit test, which has no relation of its own, and in a model on today's Gebietsstand when that
    moved). -#}
{% macro rebuilt_stichtage() -%}
    {%- if this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {#- the plan first: the linter's Jinja has no model config -#}
    {%- set chosen = build_plan('rebuild_stichtage') -%}
    {%- if chosen is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if config.get('on_current_gebietsstand', false) and not build_plan('current_gebietsstand_kept', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(listed_stichtage(chosen)) }}
{%- endmacro %}

{#- the plan's rebuild_stichtage as a sorted list of ISO dates (given as a list or a
    comma-separated text); none when it is not set. -#}
{% macro listed_stichtage(chosen) -%}
    {%- if chosen is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if chosen is string -%}
        {%- set chosen = chosen.split(',') if chosen else [] -%}
    {%- endif -%}
    {{ return(chosen | map('string') | map('trim') | reject('equalto', '') | unique | sort | list) }}
{%- endmacro %}

{#- A condition on a row's Stichtag `column`: true when this build rebuilds it, or (`lags`, years)
    when it lies that many years after a rebuilt Stichtag. Always true when every Stichtag is
    built; false for all when nothing is to be rebuilt. -#}
{% macro stichtag_rebuilt(column, lags=[]) -%}
    {{- stichtage_condition(column, rebuilt_stichtage(), lags) -}}
{%- endmacro %}

{#- The condition for `chosen` (a list of ISO dates; none: every Stichtag): the row's Stichtag
    `column` is one of them, or lies `lags` years after one. -#}
{% macro stichtage_condition(column, chosen, lags=[]) -%}
    {%- if chosen is none -%}
        (1 = 1)
    {%- elif chosen | length == 0 -%}
        (1 = 0)
    {%- else -%}
        {%- set dates = [] -%}
        {%- for day in chosen %}{% do dates.append("cast('" ~ day ~ "' as date)") %}{% endfor -%}
        ({{ column }} in ({{ dates | join(", ") }})
        {%- for years in lags %}
        or cast({{ dbt.dateadd('year', -years, column) }} as date) in ({{ dates | join(", ") }})
        {%- endfor -%})
    {%- endif -%}
{%- endmacro %}

{#- The strategy: delete the rebuilt Stichtage's rows, insert the new ones. Portable SQL; an
    engine with partition overwrite (Spark) can replace it through adapter.dispatch. -#}
{% macro get_incremental_stichtag_replace_sql(arg_dict) -%}
    {{ return(adapter.dispatch('stichtag_replace_sql', 'sozialmonitor')(arg_dict)) }}
{%- endmacro %}

{% macro default__stichtag_replace_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ stichtag_rebuilt('stichtag', config.get('stichtag_lags', [])) }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
