"""What sqlfluff's jinja templater needs to render the dbt project without dbt (.sqlfluff,
library_path): the project's vars from dbt_project.yml, and the few dbt and dbt-duckdb macros the
models call (dbt.dateadd, dbt.split_part, dbt.type_string, dbt.type_bigint, listagg, adapter.dispatch and
adapter.quote), rendered as dbt-duckdb
renders them. Only for linting: dbt itself never reads this folder (it is no model, macro or
test path)."""

from pathlib import Path
from types import SimpleNamespace

import yaml

_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project.yml"
_VARS = yaml.safe_load(_PROJECT.read_text(encoding="utf-8")).get("vars", {})

# dbt's `execute` is false while dbt parses; run_query is only called when it is true
execute = False


def var(name, default=None):
    return _VARS.get(name, default)


def _dateadd(datepart, interval, from_date_or_timestamp):
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def _split_part(string_text, delimiter_text, part_number):
    return f"string_split({string_text}, {delimiter_text})[{part_number}]"


def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"


def _regexp_replace_all(text, pattern, replacement):
    return f"regexp_replace({text}, {pattern}, {replacement}, 'g')"


def _regexp_extract_group(text, pattern, group):
    return f"regexp_extract({text}, {pattern}, {group})"


def _cte_not_materialized():
    return "not materialized"


def _text_literal(text):
    return "'" + str(text).replace("'", "''") + "'"


def _hex_fraction(expression):
    return f"cast(cast('0x' || substr({expression}, 1, 7) as ubigint) as double) / 268435456.0"


def _ordered_list(expression, delimiter="','", order_by=None):
    return f"string_agg({expression}, {delimiter} order by {', '.join(order_by or [expression])})"


def _unpivot_measures(source, keys, measures, extra=()):
    branches = []
    for measure in measures:
        columns = [f"u.{key}" for key in keys] + [f"'{measure}' as measure", f"cast(u.{measure} as double) as value"]
        columns += [f"{expressions.get(measure, 'cast(null as double)')} as {name}" for name, expressions in extra]
        branches.append(f"select {', '.join(columns)} from {source} as u")
    return "\nunion all\n".join(branches)


def _regex_literal(literal):
    return literal


def _matches_pattern(text, pattern):
    return f"regexp_matches({text}, '{pattern}')"


def _stichtag_incremental_strategy(config):
    return dict(config, incremental_strategy="stichtag_replace")


def _register_lake_sources():
    return "select 1"


def _nearest_bigint(expression):
    return f"cast({expression} as bigint)"


_DISPATCHED = {
    "nearest_bigint": _nearest_bigint,
    "hex_fraction": _hex_fraction,
    "ordered_list": _ordered_list,
    "matches_pattern": _matches_pattern,
    "regex_literal": _regex_literal,
    "unpivot_measures": _unpivot_measures,
    "stichtag_incremental_strategy": _stichtag_incremental_strategy,
    "register_lake_sources": _register_lake_sources,
    "regexp_replace_all": _regexp_replace_all,
    "regexp_extract_group": _regexp_extract_group,
    "cte_not_materialized": _cte_not_materialized,
    "text_literal": _text_literal,
}

dbt = SimpleNamespace(
    dateadd=_dateadd,
    split_part=_split_part,
    listagg=listagg,
    type_string=lambda: "varchar",
    type_bigint=lambda: "bigint",
)
sozialmonitor = SimpleNamespace(**_DISPATCHED)
adapter = SimpleNamespace(dispatch=lambda name, namespace=None: _DISPATCHED[name], quote=lambda name: f'"{name}"')
