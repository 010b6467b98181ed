"""Contract checks on a staged extract, as set-based SQL over the whole file at once.

For every contract column this module builds two SQL expressions from the contract: the typed
value (what goes into the warehouse) and the conditions under which a value breaks the contract,
each with the sentence that tells the department what was expected. One query finds every
violation in the file; no Python loop ever touches a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb

from ..warehouse import sql_string
from .contracts import RELATIVE_BOUND, Column, Contract
from .reading import STAGE, Violation


def lit(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    return sql_string(str(value))


TYPED = "_typed"


def _v(col: Column) -> str:
    """The trimmed text of a column in the typed stage (empty text is null)."""
    return f"v__{col.name}"


def kept_as_text(col: Column) -> bool:
    """A column whose warehouse value is its trimmed text as it stands (free text, codes without
    padding): the typed stage holds it once, not a second time as an identical typed copy."""
    return col.type == "varchar" or (col.type == "code" and not col.pad and not col.recode)


def typed_column(col: Column) -> str:
    """Name of the column in the typed stage that holds the warehouse value."""
    return _v(col) if kept_as_text(col) else f"t__{col.name}"


def suppressed_column(col: Column) -> str:
    """Name of the column in the typed stage that says a count was suppressed."""
    return f"s__{col.name}"


def materialize_typed(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """One pass over the staged text: trimmed text, typed value and suppression flag per column.
    Every check and the insert read these columns, so no value is converted twice."""
    trimmed = ", ".join(f"nullif(trim({c.name}), '') as {_v(c)}" for c in contract.columns)
    typed = "".join(
        f", {typed_expression(contract, c)} as {typed_column(c)}" for c in contract.columns if not kept_as_text(c)
    )
    flags = "".join(
        f", {suppressed_expression(c)} as {suppressed_column(c)}"
        for c in contract.columns
        if c.type == "count" and c.suppressed
    )
    extra = ", _geometry" if contract.format == "geojson" else ""
    con.execute(
        f"""create or replace temp table {TYPED} as
        select *{typed}{flags}
        from (select _line{extra}, {trimmed} from {STAGE})"""
    )
    # Nothing reads the text stage after this: free its memory before the checks and the insert
    # need theirs (a register of millions of rows would otherwise be held three times at once).
    con.execute(f"drop table {STAGE}")


@dataclass(frozen=True)
class Check:
    column: Column
    condition: str  # true where the value breaks the contract
    problem: str
    fix: str


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def _bounds(col: Column, stichtag: date | None) -> tuple[object, object]:
    def relative(kind: str | None):
        if kind is None or stichtag is None:
            return None
        m = RELATIVE_BOUND.match(kind)
        base, shift = m.group("base"), int(m.group("shift") or 0)
        if base == "year":
            return stichtag.year + shift
        if base == "date":
            return _shift_years(stichtag, shift)
        return date(stichtag.year + shift, 1, 1)

    low = col.min if col.min is not None else relative(col.min_from_stichtag)
    high = col.max if col.max is not None else relative(col.max_from_stichtag)
    if col.type == "date":
        low = date.fromisoformat(str(low)) if low is not None and not isinstance(low, date) else low
        high = date.fromisoformat(str(high)) if high is not None and not isinstance(high, date) else high
    elif col.type in ("integer", "count"):
        low = int(low) if low is not None else None
        high = int(high) if high is not None else None
    return low, high


def _number_regex(contract: Contract) -> str:
    dec = re.escape(contract.decimal)
    if contract.thousands:
        th = re.escape(contract.thousands)
        return rf"[+-]?(\d{{1,3}}({th}\d{{3}})+|\d+)({dec}\d+)?"
    return rf"[+-]?\d+({dec}\d+)?"


def typed_expression(contract: Contract, col: Column) -> str:
    """SQL turning the trimmed text into the warehouse value (valid rows only reach the insert)."""
    v = _v(col)
    if col.type == "varchar":
        return v
    if col.type == "code":
        if col.recode:
            # the Stadt's codes -> the contract's (a lookup in SQL); any other value is refused
            cases = " ".join(f"when {lit(theirs)} then {lit(ours)}" for theirs, ours in col.recode.items())
            return f"case {v} {cases} else {v} end"
        if col.pad:
            short_number = f"regexp_full_match({v}, '\\d+') and length({v}) < {col.pad}"
            return f"case when {short_number} then lpad({v}, {col.pad}, '0') else {v} end"
        return v
    if col.type == "integer":
        return f"try_cast({v} as bigint)"
    if col.type == "decimal":
        text = v
        if contract.thousands:
            text = f"replace({text}, {lit(contract.thousands)}, '')"
        if contract.decimal != ".":
            text = f"replace({text}, {lit(contract.decimal)}, '.')"
        return f"try_cast({text} as double)"
    if col.type == "date":
        return f"cast(try_strptime({v}, {lit(col.date_format)}) as date)"
    if col.type == "count":
        parts = ["case"]
        if col.suppressed:
            parts.append(f"when {v} in ({', '.join(lit(m) for m in col.suppressed)}) then null")
        if col.zero:
            parts.append(f"when {v} in ({', '.join(lit(m) for m in col.zero)}) then 0")
        parts.append(f"else try_cast({v} as bigint) end")
        return " ".join(parts)
    raise ValueError(col.type)


def suppressed_expression(col: Column) -> str:
    return f"coalesce({_v(col)} in ({', '.join(lit(m) for m in col.suppressed)}), false)"


def build_checks(contract: Contract, stichtag: date | None, controls: bool = True) -> list[Check]:
    """The contract's checks. `controls=False`: the file holds no control character anywhere (the
    reader knows), so that check is left out."""
    checks: list[Check] = []
    source_file = contract.location
    common_file = contract.common_location  # where the code lists are (not in a Stadt's variant)
    fix_value = "correct the value in the department's system and deliver the file again"
    for col in contract.columns:
        v = _v(col)
        typed = typed_column(col)
        if col.required:
            checks.append(Check(col, f"{v} is null", "value is missing but the column is required", fix_value))
        if col.type in ("varchar", "code") and controls:
            # Control characters (NUL, escape, backspace …) have no place in a name or code; they
            # break exports and hide text. Tab, line feed and carriage return inside a quoted field
            # are control characters too: a street name never spans lines.
            checks.append(
                Check(
                    col,
                    f"{v} is not null and regexp_matches({v}, '[\\x00-\\x1F\\x7F]')",
                    "contains a control character (a NUL byte, tab, line break or escape code)",
                    fix_value,
                )
            )
        if col.type in ("varchar", "code"):
            checks.append(
                Check(
                    col,
                    f"{v} is not null and length({v}) > {col.text_limit}",
                    f"longer than {col.text_limit} characters (a shifted column or pasted text?)",
                    f"{fix_value}; if such long values are real, raise `max_length` of the column in {source_file}",
                )
            )
        if col.type == "integer":
            checks.append(
                Check(
                    col, f"{v} is not null and not regexp_full_match({v}, '[+-]?\\d+')", "not a whole number", fix_value
                )
            )
        elif col.type == "decimal":
            mark = "decimal comma" if contract.decimal == "," else "decimal point"
            example = "1.234,56" if contract.decimal == "," else "1234.56"
            checks.append(
                Check(
                    col,
                    f"{v} is not null and not regexp_full_match({v}, {lit(_number_regex(contract))})",
                    f"not a number with {mark} (like {example})",
                    fix_value,
                )
            )
        elif col.type == "date":
            checks.append(
                Check(
                    col,
                    f"{v} is not null and {typed} is null",
                    f"not a valid date in the form {col.date_format} "
                    f"(like {date(2024, 12, 31).strftime(col.date_format)})",
                    fix_value,
                )
            )
        elif col.type == "count":
            markers = [*col.suppressed, *col.zero]
            not_marker = f"{v} not in ({', '.join(lit(m) for m in markers)})" if markers else "true"
            checks.append(
                Check(
                    col,
                    f"{v} is not null and regexp_full_match({v}, '-\\d+')",
                    "a count cannot be negative",
                    fix_value,
                )
            )
            allowed = f", or one of {markers} for suppressed/zero" if markers else ""
            checks.append(
                Check(
                    col,
                    f"{v} is not null and {not_marker} and not regexp_full_match({v}, '-?\\d+')",
                    f"not a count (a whole number{allowed})",
                    fix_value,
                )
            )
        if col.type in ("integer", "count"):
            # A number of the right form that does not fit the warehouse type (more than 19
            # digits) would be stored as NULL, even in a required column.
            checks.append(
                Check(
                    col,
                    f"{typed} is null and {v} is not null and regexp_full_match({v}, '[+-]?\\d+')"
                    + (
                        f" and {v} not in ({', '.join(lit(m) for m in [*col.suppressed, *col.zero])})"
                        if col.suppressed or col.zero
                        else ""
                    ),
                    "a number too large for the column",
                    fix_value,
                )
            )
        if col.recode:
            # A recoded column's codes are the Stadt's: every value must be one of them; what they
            # map to was checked against the code list and pattern when the contract was loaded.
            theirs = list(col.recode)
            checks.append(
                Check(
                    col,
                    f"{v} is not null and {v} not in ({', '.join(lit(x) for x in theirs)})",
                    f"not in this Stadt's code list {theirs}",
                    f"use one of the codes, or add the new code to `recode` of column '{col.name}' in "
                    f"{source_file} (mapped to one of the contract's codes)",
                )
            )
        if col.pattern and not col.recode:
            checks.append(
                Check(
                    col,
                    f"{typed} is not null and not regexp_full_match({typed}, {lit(col.pattern)})",
                    f"does not have the expected form {col.pattern}",
                    fix_value,
                )
            )
        if col.values and not col.recode:
            checks.append(
                Check(
                    col,
                    f"{typed} is not null and {typed} not in ({', '.join(lit(x) for x in col.values)})",
                    f"not in the code list {col.values}",
                    f"use one of the codes, or add the new code to `values` in {common_file} "
                    "after the working group agreed on it"
                    if col.values_from is None
                    else f"use one of the project's spatial levels ({col.values_from} in {common_file}), or add "
                    "the new level to the vars nested_levels or non_nested_levels in dbt_project.yml",
                )
            )
        low, high = _bounds(col, stichtag)
        if col.type in ("integer", "decimal", "date", "count") and (low is not None or high is not None):
            if low is not None and high is not None:
                text, cond = f"outside the range {low} to {high}", f"({typed} < {lit(low)} or {typed} > {lit(high)})"
            elif low is not None:
                text, cond = f"below the minimum {low}", f"{typed} < {lit(low)}"
            else:
                text, cond = f"above the maximum {high}", f"{typed} > {lit(high)}"
            if col.type == "date" and (col.max_from_stichtag == "date" and col.max is None):
                text += " (a date after the Stichtag is impossible in this extract)"
            checks.append(Check(col, f"{typed} is not null and {cond}", text, fix_value))
    return checks


def find_violations(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    stichtag: date | None,
    name: str,
    limit: int = 20,
    controls: bool = True,
) -> list[Violation]:
    """Every value that breaks the contract: the first `limit` by line, plus one summary per check."""
    checks = build_checks(contract, stichtag, controls)
    if not checks:
        return []
    header_of = _headers_in_file(contract)
    # One scan finds the rows that break anything (in a sound file: none); the per-check detail
    # is computed over those rows only, so a clean file costs one pass, not one per check.
    any_broken = " or ".join(f"coalesce({c.condition}, false)" for c in checks)
    con.execute(f"create or replace temp table _broken as select * from {TYPED} where {any_broken}")
    union = "\nunion all\n".join(
        f"select _line, {i} as check_id, cast({_v(c.column)} as varchar) as value from _broken where {c.condition}"
        for i, c in enumerate(checks)
    )
    con.execute(f"create or replace temp table _violations as {union}")
    con.execute("drop table _broken")
    summary = con.execute("select check_id, count(*) from _violations group by check_id order by check_id").fetchall()
    if not summary:
        return []
    rows = con.execute(
        f"select _line, check_id, value from _violations order by _line, check_id limit {limit}"
    ).fetchall()
    violations = [
        Violation(name, int(line), header_of[checks[cid].column.name], checks[cid].problem, checks[cid].fix, value)
        for line, cid, value in rows
    ]
    total = sum(n for _, n in summary)
    if total > len(violations):
        counts = "; ".join(f"'{header_of[checks[cid].column.name]}': {n} × {checks[cid].problem}" for cid, n in summary)
        violations.append(
            Violation(name, None, None, f"{total} values break the contract in all ({counts})", "see the lines above")
        )
    return violations


def _headers_in_file(contract: Contract) -> dict[str, str]:
    return {c.name: c.header for c in contract.columns}


def drop_footer(con: duckdb.DuckDBPyConnection, contract: Contract, name: str) -> int:
    """Remove total rows and footnotes at the end; a 'total' in the middle of the data is an error."""
    if not contract.footer:
        return 0
    col = contract.footer.column
    pattern = lit(contract.footer.pattern)
    first = con.execute(f"select min(_line) from {STAGE} where regexp_matches(trim({col}), {pattern})").fetchone()[0]
    if first is None:
        return 0
    after = con.execute(
        f"select min(_line), any_value({col}) from {STAGE} where _line > ? "
        f"and not coalesce(regexp_matches(trim({col}), {pattern}), false)",
        [first],
    ).fetchone()
    if after[0] is not None:
        from .reading import Unreadable

        header = contract.column(col).header
        raise Unreadable(
            [
                Violation(
                    name,
                    int(first),
                    header,
                    f"a total/footnote row appears before the end of the data (data continues at line {after[0]})",
                    "deliver the total row only once, below the last data row",
                )
            ]
        )
    return con.execute(f"delete from {STAGE} where _line >= ?", [first]).fetchone()[0]


def find_duplicate_keys(con: duckdb.DuckDBPyConnection, contract: Contract, name: str) -> list[Violation]:
    if not contract.unique_key:
        return []
    keys = [contract.column(k) for k in contract.unique_key]
    names = ", ".join(typed_column(k) for k in keys)
    # A sound file has no duplicate: one plain count per key finds that out. The line lists below
    # cost a list per key (a million for a register) and are only built when there is something to show.
    duplicated = con.execute(f"select 1 from {TYPED} group by {names} having count(*) > 1 limit 1").fetchone()
    if duplicated is None:
        return []
    rows = con.execute(
        f"""
        select {names}, count(*) as n, list(_line order by _line)[1:3] as lines
        from {TYPED}
        group by {names} having count(*) > 1
        order by min(_line) limit 10
        """
    ).fetchall()
    out = []
    for row in rows:
        key = ", ".join(f"{k.header}={v!r}" for k, v in zip(keys, row[: len(keys)], strict=True))
        lines = row[-1]
        out.append(
            Violation(
                name,
                int(lines[0]),
                keys[0].header,
                f"duplicate key ({key}) occurs {row[-2]} times, at lines {', '.join(map(str, lines))}",
                "each record must occur once: remove the duplicate rows in the export",
            )
        )
    return out


def find_unknown_references(
    con: duckdb.DuckDBPyConnection, contract: Contract, name: str, loaded_tables: set[str]
) -> list[Violation]:
    """Codes that name a record of another source (`references`) or a parent in the same file
    (the contract's `parent`) that does not exist."""
    out: list[Violation] = find_unknown_parents(con, contract, name)
    for col in contract.columns:
        ref = col.references
        if not ref:
            continue
        table = f"raw.{ref.source}"
        if table not in loaded_tables:
            out.append(
                Violation(
                    name,
                    None,
                    col.header,
                    f"cannot check codes: the reference source '{ref.source}' is not loaded",
                    f"deliver the {ref.source} extract (see orchestration/contracts/{ref.source}.yml) first",
                )
            )
            continue
        typed = typed_column(col)
        rows = con.execute(
            f"""
            select _line, {typed} as code from {TYPED}
            where {typed} is not null
                and {typed} not in (select {ref.column} from {table} where {ref.column} is not null)
            order by _line limit 10
            """
        ).fetchall()
        for line, code in rows:
            out.append(
                Violation(
                    name,
                    int(line),
                    col.header,
                    f"unknown area code: '{code}' is not in {ref.source}.{ref.column}",
                    "correct the code, or deliver the updated reference data "
                    "(Gebietsgliederung, Baublock membership) first",
                    value=code,
                )
            )
    return out


def _parent_level_expression(unit_level: str, given: str, order: list[str]) -> str:
    """SQL for a row's parent level: the one given, else the next level of `order` after the unit's
    own; null for the last level of `order` (the top); the last for a level not in `order` (a
    non-nested one)."""
    nexts = " ".join(f"when {unit_level} = {lit(a)} then {lit(b)}" for a, b in zip(order, order[1:], strict=False))
    return (
        f"case when {given} is not null then {given} {nexts} "
        f"when {unit_level} in ({', '.join(lit(x) for x in order)}) then null else {lit(order[-1])} end"
    )


def find_unknown_parents(con: duckdb.DuckDBPyConnection, contract: Contract, name: str) -> list[Violation]:
    """The hierarchy of a file whose rows name their parent (contract key `parent`, the
    Gebietsgliederung): a parent level above the unit's own, a parent code where a parent level is
    given, a parent for every unit of a level that has one above it, and a parent that is a row of
    the file at that level, valid in some day of the unit's period. Up to 10 violations per problem."""
    parent = contract.parent
    if parent is None:
        return []
    col = {key: contract.column(key) for key in parent.column_names}
    code, given, unit_code, unit_level = (
        typed_column(col[parent.code]),
        typed_column(col[parent.level]),
        typed_column(col[parent.unit_code]),
        typed_column(col[parent.unit_level]),
    )
    order = list(col[parent.level].values or [])
    rank = "case {} " + " ".join(f"when {lit(x)} then {i}" for i, x in enumerate(order)) + " else -1 end"
    effective = _parent_level_expression(unit_level, given, order)
    source_file = f"orchestration/contracts/{contract.source}.yml"
    header_code, header_level = col[parent.code].header, col[parent.level].header
    fix = "correct the Gebietsgliederung: each unit names its parent and, where it is not of the next level, its level"
    below_top = ", ".join(lit(x) for x in order[:-1]) or "null"
    # (condition on a row, column to blame, the problem given the row's level, parent code and parent level)
    checks = [
        (
            f"{given} is not null and {code} is null",
            header_code,
            lambda lvl, pcode, plvl: f"names the parent level '{plvl}' but no parent code ({header_code})",
        ),
        (
            f"{given} is not null and {rank.format(given)} <= {rank.format(unit_level)}",
            header_level,
            lambda lvl, pcode, plvl: (
                f"the parent level '{plvl}' is not above the unit's level '{lvl}' "
                f"(levels from the smallest: {', '.join(order)})"
            ),
        ),
        (
            f"{code} is null and {given} is null and {unit_level} in ({below_top})",
            header_code,
            lambda lvl, pcode, plvl: (
                f"a unit of the level '{lvl}' needs a parent unit (the levels above it: "
                f"{', '.join(order[order.index(lvl) + 1 :])})"
            ),
        ),
        (
            f"{code} is not null and {given} is null and {effective} is null",
            header_code,
            lambda lvl, pcode, plvl: f"a unit of the top level '{lvl}' has no level above it for its parent",
        ),
    ]
    out: list[Violation] = []
    for condition, header, problem in checks:
        rows = con.execute(
            f"""select _line, {unit_level}, {code}, {given} from {TYPED}
                where coalesce({condition}, false) order by _line limit 10"""
        ).fetchall()
        for line, lvl, pcode, plvl in rows:
            value = plvl if header == header_level else pcode
            out.append(Violation(name, int(line), header, problem(lvl, pcode, plvl), fix, value=value))
    if out:
        return out
    overlap = ""
    if parent.valid_from and parent.valid_to:
        start, end = typed_column(col[parent.valid_from]), typed_column(col[parent.valid_to])
        overlap = (
            f" and p.{start} <= coalesce(c.{end}, date '9999-12-31')"
            f" and coalesce(p.{end}, date '9999-12-31') >= c.{start}"
        )
    rows = con.execute(
        f"""select c._line, c.{code}, c.level_of_parent
            from (select *, {effective} as level_of_parent from {TYPED}) as c
            where c.{code} is not null and c.level_of_parent is not null
                and not exists (
                    select 1 from {TYPED} as p
                    where p.{unit_level} = c.level_of_parent and p.{unit_code} = c.{code}{overlap}
                )
            order by c._line limit 10"""
    ).fetchall()
    for line, pcode, plvl in rows:
        out.append(
            Violation(
                name,
                int(line),
                header_code,
                f"unknown parent: no unit '{pcode}' of the level '{plvl}' in this file"
                + (" valid in the unit's period" if overlap else ""),
                f"{fix}; a parent of another level than the next one is named in column '{header_level}' "
                f"({source_file})",
                value=pcode,
            )
        )
    return out
