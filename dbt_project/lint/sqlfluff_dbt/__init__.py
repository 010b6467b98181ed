"""What sqlfluff's jinja templater needs to render the dbt project without dbt (.sqlfluff,
library_path): the project's vars from dbt_project.yml, and the few dbt and dbt-duckdb macros the
models call (dbt.dateadd, dbt.split_part, listagg, adapter.dispatch), rendered as dbt-duckdb
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


def _key_sum(expression):
    scale = "4503599627370496"  # 2^52
    return f"cast(sum(cast({expression} * {scale}.0 as hugeint)) % {scale} as double) / {scale}.0"


_DISPATCHED = {
    "regexp_replace_all": _regexp_replace_all,
    "regexp_extract_group": _regexp_extract_group,
    "cte_not_materialized": _cte_not_materialized,
    "text_literal": _text_literal,
    "key_sum": _key_sum,
}

dbt = SimpleNamespace(dateadd=_dateadd, split_part=_split_part, listagg=listagg)
sozialmonitor = SimpleNamespace(**_DISPATCHED)
adapter = SimpleNamespace(dispatch=lambda name, namespace=None: _DISPATCHED[name])
