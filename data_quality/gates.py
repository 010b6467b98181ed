"""Running the release gates: each suite's frame is computed in DuckDB, validated by Great
Expectations as a pandas dataframe asset (GX 1.x has no working DuckDB datasource, see
../shared/docs/stack.md), and turned into plain results that the CLI, Dagster's asset checks and
the release all read the same way.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from orchestration.errors import SozialmonitorError
from orchestration.settings import Settings
from orchestration.yaml_text import load_yaml

from .suites import BLOCK, SUITES, Catalogue, Suite

CONFIG_PATH = Path(__file__).with_name("gates.yml")

# Great Expectations must never phone home (no network here, and none wanted in a warehouse).
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
logging.getLogger("great_expectations").setLevel(logging.WARNING)


class GateFailed(SozialmonitorError):
    exit_code = 5
    headline = "Run stopped by the quality gates:"
    hint = (
        "The warehouse is built (query it to investigate: `sozialmonitor gates` shows every result);\n"
        "the previous release is untouched. See docs/operations.md, 'Reading gate failures'."
    )

    def __init__(self, report: GateReport):
        self.report = report
        lines = [f"{len(report.blocking_failures)} blocking quality gate(s) failed; nothing was released."]
        for r in report.blocking_failures:
            lines.append(f"  ✗ {r.suite}: {r.description} — {r.observed}")
            for ex in r.examples[:3]:
                lines.append(f"      e.g. {ex}")
        super().__init__("\n".join(lines))


@dataclass
class ExpectationResult:
    suite: str
    target: str
    expectation: str
    description: str
    severity: str  # "block" | "warn"
    success: bool
    observed: str
    examples: list[dict[str, Any]] = field(default_factory=list)
    unexpected: int | None = None  # rows that broke a row-wise expectation
    # the expectation's configuration (column, thresholds, value set, row condition): from gates.yml
    # and the catalogue, never from the data
    configuration: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        if self.success:
            return "passed"
        return "blocked" if self.severity == "block" else "warning"

    def public(self) -> dict[str, Any]:
        """What the public report says about this expectation (see `GateReport.redacted`)."""
        return {
            "suite": self.suite,
            "target": self.target,
            "expectation": self.expectation,
            "description": self.description,
            "configuration": self.configuration,
            "severity": self.severity,
            "success": self.success,
            "outcome": self.outcome,
        }


@dataclass
class GateReport:
    results: list[ExpectationResult]
    config_path: str
    config_sha256: str
    checked_at: str
    public: bool = False  # the redacted copy for a release: outcomes only (see `redacted`)

    @property
    def blocking_failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.outcome == "blocked"]

    @property
    def warnings(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.outcome == "warning"]

    @property
    def outcome(self) -> str:
        if self.blocking_failures:
            return "blocked"
        return "passed_with_warnings" if self.warnings else "passed"

    def for_suite(self, suite: str) -> list[ExpectationResult]:
        return [r for r in self.results if r.suite == suite]

    def summary(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "expectations": len(self.results),
            "passed": sum(r.success for r in self.results),
            "blocking_failures": len(self.blocking_failures),
            "warnings": len(self.warnings),
            "suites": {s.name: _suite_outcome(self.for_suite(s.name)) for s in SUITES if self.for_suite(s.name)},
        }

    def to_dict(self) -> dict[str, Any]:
        out = {
            "checked_at": self.checked_at,
            "config": {"path": self.config_path, "sha256": self.config_sha256},
            "summary": self.summary(),
        }
        if self.public:
            return {**out, "redacted": True, "results": [r.public() for r in self.results]}
        return {**out, "results": [asdict(r) for r in self.results]}

    def redacted(self) -> GateReport:
        """The report for a release: per expectation only what was checked and how it came out —
        suite, target, expectation, description, configuration (thresholds from gates.yml and the
        catalogue), severity and outcome (passed / warning / blocked).

        Everything the gates computed from the data is dropped: the example rows, the observed
        values, the element and unexpected counts, the percentages and partial lists. The gates run
        on the warehouse's values before disclosure control, at the published levels: the number of
        units whose year-over-year change or value lies outside a range, an observed count, or the
        share of rows that broke an expectation is a figure computed from withheld counts; combined
        with the published tables it narrows them (a side channel past suppression). Only the
        outcome per expectation is published, and it depends on the data only through a threshold
        that is published anyway. The internal report (`sozialmonitor gates`, Dagster's asset
        checks) keeps everything."""
        return GateReport(
            results=[
                replace(r, observed="", examples=[], unexpected=None, configuration=dict(r.configuration))
                for r in self.results
            ],
            # no build time and no folder of the build machine in a public file: the same gates on
            # the same data give the same bytes (the time stays in the internal report and ops)
            config_path=_project_relative(self.config_path),
            config_sha256=self.config_sha256,
            checked_at="",
            public=True,
        )

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        json_path = folder / "gates.json"
        json_path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
        html_path = folder / "gates.html"
        html_path.write_text(render_html(self), encoding="utf-8")
        return [json_path, html_path]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateReport:
        public = bool(data.get("redacted"))
        fields = set(ExpectationResult.__dataclass_fields__)
        return cls(
            results=[
                ExpectationResult(**{"observed": "", **{k: v for k, v in r.items() if k in fields}})
                for r in data["results"]
            ],
            config_path=data["config"]["path"],
            config_sha256=data["config"]["sha256"],
            checked_at=data["checked_at"],
            public=public,
        )


def _project_relative(path: str) -> str:
    """A configuration file relative to the project (data_quality/gates.yml), else only its name."""
    try:
        return Path(path).resolve().relative_to(Path(__file__).resolve().parents[1]).as_posix()
    except ValueError:
        return Path(path).name


def _suite_outcome(results: list[ExpectationResult]) -> str:
    if any(r.outcome == "blocked" for r in results):
        return "blocked"
    return "passed_with_warnings" if any(r.outcome == "warning" for r in results) else "passed"


def config_path() -> Path:
    """SOZIALMONITOR_GATES_CONFIG, a deployment's gates.yml (Settings.gates_config), or the shipped one."""
    return Settings.from_env().gates_config or CONFIG_PATH


def load_config(path: Path | None = None, levels: list[str] | None = None) -> dict[str, Any]:
    """The gate configuration. `levels` (where ranges and changes are checked): the file's own
    `levels` if it names them, else `levels` as given (the caller's Settings.project_vars.public_levels),
    else the public levels of the project's dbt_project.yml: written once, there."""
    path = path or config_path()
    with path.open(encoding="utf-8") as fh:
        config = load_yaml(fh) or {}
    if "levels" not in config:
        config["levels"] = list(levels) if levels else list(Settings.from_env().project_vars.public_levels)
    for key in ("levels", "address_assignment", "year_over_year", "hierarchy"):
        if key not in config:
            raise ValueError(f"{path}: the gate configuration needs a '{key}' entry (see data_quality/gates.yml)")
    config.setdefault("examples", 10)
    return config


def load_catalogue(con) -> Catalogue:
    frame = con.execute("select * from reference.indicator_catalogue order by indicator_id").df()
    rows = []
    for record in frame.to_dict("records"):
        rows.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()})
    return Catalogue(rows)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, datetime | date):
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return str(value)


def _observed(kind: str, result: dict[str, Any]) -> str:
    if "unexpected_count" in result and result.get("element_count") is not None:
        return f"{result['unexpected_count']} of {result['element_count']} rows outside the expectation"
    if "observed_value" in result:
        observed = result["observed_value"]
        if isinstance(observed, list):
            observed = ", ".join(map(str, observed))
        return f"observed {observed}"
    return "see details"


def _configuration(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The expectation's arguments as configured (no batch id: that names the GX run, not the check)."""
    return {k: _jsonable(v) for k, v in sorted(kwargs.items()) if k not in ("batch_id", "result_format")}


def _per_indicator(frame, suite: Suite, catalogue: Catalogue):
    """What Great Expectations checks of `frame`: the frame itself, or for a suite of PerIndicator
    one column per catalogue indicator (null where the frame has no row), one row per key."""
    per = suite.per_indicator
    if per is None:
        return frame
    clash = set(per.key) & set(catalogue.ids)
    if clash:
        raise ValueError(f"an indicator id is also a column of suite {suite.name}'s frame: {sorted(clash)}")
    # pivot, not pivot_table: a key given twice raises instead of being averaged
    wide = frame.pivot(index=list(per.key), columns=per.by, values=per.value).reindex(columns=catalogue.ids)
    wide.columns.name = None
    return wide.reset_index()


def _rows_of(frame, checked, suite: Suite):
    """The frame's row of an unexpected value: `(index in checked, the expectation's column)` →
    row of `frame` (for a suite of PerIndicator the row that holds that indicator's value)."""
    per = suite.per_indicator
    if per is None:
        return lambda index, _column: index
    positions: dict[tuple, int] = {}

    def row(index: int, column: str) -> int | None:
        if not positions:  # only when an expectation failed
            keys = zip(*(frame[k] for k in (*per.key, per.by)), strict=True)
            positions.update((key, i) for i, key in enumerate(keys))
        return positions.get((*(checked[k].iloc[index] for k in per.key), column))

    return row


def suite_frame(con, sql: str, memory_when_short: str | None = None):
    """The rows a suite checks. `memory_when_short`: DuckDB's memory limit to run the query again with
    when it needs more than the connection's: the gates' process beside the release has a share of
    the limit (data_quality/beside.py), enough up to Berlin's size; the hierarchy of a Kreis of 300
    Gemeinden needs more than that share, and a gate that could not run would stop the release. The
    limit stays raised for the rest of the gates (DuckDB may still hold what the failed query took).
    The rows, and so the report, are the same either way: every frame is ordered. `con` in
    autocommit (a failed query inside a transaction aborts it)."""
    import duckdb

    try:
        return con.execute(sql).df()
    except duckdb.OutOfMemoryException:
        if memory_when_short is None:
            raise
        logging.getLogger(__name__).warning(
            "a gate query needed more than this process's share of DuckDB's memory limit: run again with %s "
            "(the release beside may use as much)",
            memory_when_short,
        )
        con.execute(f"set memory_limit = '{memory_when_short}'")
        return con.execute(sql).df()


# Great Expectations' result format of the gates' validation: the counts, without the unexpected
# rows' indexes (`_unexpected_rows` asks for those where there are some)
COUNTS_FORMAT = "BASIC"


def _key(configuration: dict[str, Any]) -> str:
    """An expectation as configured (its type and arguments, not the run's batch), as the same text
    whether read from the expectation or from its result: the key of its unexpected rows."""
    arguments = {k: v for k, v in (configuration.get("kwargs") or {}).items() if k not in ("batch_id", "result_format")}
    return json.dumps([configuration["type"], arguments], sort_keys=True, default=str)


def _validate(context, suite_name: str, name: str, batch, expectations: list, checked, result_format: str) -> list:
    """Great Expectations' results of `expectations` on the frame `checked`, as a suite `suite_name`
    with a validation `name` on `batch`, in `result_format`. All expectations at once:
    suite.add_expectation re-serialises the stored suite on every call (quadratic; it took half of
    the gates' time with 210 expectations)."""
    import great_expectations as gx

    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=expectations))
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=gx_suite))
    outcome = validation.run(batch_parameters={"dataframe": checked}, result_format={"result_format": result_format})
    return outcome.to_json_dict()["results"]


def _unexpected_rows(context, suite: Suite, config, catalogue: Catalogue, batch, checked, items) -> dict[str, list]:
    """The indexes of the first unexpected rows (Great Expectations' SUMMARY format), by `_key`, of
    the expectations whose results (BASIC format: the counts) found such rows; the report shows
    them as examples. SUMMARY for every expectation took about 1 s more per gates run on the test
    city (the 128 year-over-year expectations 2.1 s instead of 1.2 s), though few find any rows."""
    wanted = {_key(item["expectation_config"]) for item in items if (item.get("result") or {}).get("unexpected_count")}
    if not wanted or int(config["examples"]) <= 0:
        return {}
    again = [e for e in suite.expectations(config, catalogue) if _key(e.configuration.to_json_dict()) in wanted]
    name = f"{suite.name}__unexpected_rows"
    rows = {}
    for item in _validate(context, name, name, batch, again, checked, "SUMMARY"):
        if item.get("exception_info", {}).get("raised_exception"):  # counted before: only its examples are missing
            logging.getLogger(__name__).warning(
                "gate %s: the unexpected rows of %s could not be listed: %s",
                suite.name,
                item["expectation_config"]["type"],
                item["exception_info"].get("exception_message"),
            )
        rows[_key(item["expectation_config"])] = (item.get("result") or {}).get("partial_unexpected_index_list") or []
    return rows


def run_suite(
    context,
    con,
    suite: Suite,
    config: dict[str, Any],
    catalogue: Catalogue,
    memory_when_short: str | None = None,
) -> list[ExpectationResult]:
    """`memory_when_short`: see suite_frame."""
    frame = suite_frame(con, suite.sql(config, catalogue), memory_when_short)
    checked = _per_indicator(frame, suite, catalogue)
    row_of = _rows_of(frame, checked, suite)
    source = context.data_sources.add_or_update_pandas(f"gate_{suite.name}")
    batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("all")
    expectations = suite.expectations(config, catalogue)
    items = _validate(context, suite.name, f"gate_{suite.name}", batch, expectations, checked, COUNTS_FORMAT)
    unexpected_rows = _unexpected_rows(context, suite, config, catalogue, batch, checked, items)
    results = []
    for item in items:
        cfg = item["expectation_config"]
        result = item.get("result") or {}
        column = (cfg.get("kwargs") or {}).get("column")
        examples = []
        for index in unexpected_rows.get(_key(cfg), [])[: int(config["examples"])]:
            if isinstance(index, int) and 0 <= index < len(checked):
                row = row_of(index, column)
                if row is not None:
                    examples.append({k: _jsonable(v) for k, v in frame.iloc[row].to_dict().items()})
        if item.get("exception_info", {}).get("raised_exception"):
            observed = "the expectation could not be evaluated: " + str(item["exception_info"].get("exception_message"))
            success = False
        else:
            if suite.per_indicator is not None and result.get("missing_count") is not None:
                # the rows of the indicator: those with a value in its column
                result = {**result, "element_count": result["element_count"] - result["missing_count"]}
            observed = _observed(cfg["type"], result)
            success = bool(item["success"])
        results.append(
            ExpectationResult(
                suite=suite.name,
                target=suite.target,
                expectation=cfg["type"],
                description=cfg.get("description") or cfg["type"],
                severity="block" if cfg.get("severity", BLOCK) == BLOCK else "warn",
                success=success,
                observed=observed,
                examples=examples,
                unexpected=result.get("unexpected_count"),
                configuration=_configuration(cfg.get("kwargs") or {}),
            )
        )
    return results


def prepare_gates() -> None:
    """Import what `run_gates` imports when it runs (Great Expectations above all: 3-4 s of CPU), so
    that a process can do that before it has a warehouse to check (data_quality.beside, held)."""
    import great_expectations  # noqa: F401
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: F401

    from orchestration.ingest.loader import sha256_file  # noqa: F401


def run_gates(
    con,
    suites: list[str] | None = None,
    config_file: Path | None = None,
    levels: list[str] | None = None,
    memory_when_short: str | None = None,
) -> GateReport:
    """Run the named suites (all by default) against the warehouse open on `con`; `levels`: the
    project's public levels (load_config); `memory_when_short`: suite_frame."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from orchestration.ingest.loader import sha256_file

    path = config_file or config_path()
    config = load_config(path, levels)
    catalogue = load_catalogue(con)
    # GX gives some of its module loggers level INFO of their own ("Created temporary directory …")
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    results: list[ExpectationResult] = []
    for suite in SUITES:
        if suites is not None and suite.name not in suites:
            continue
        results.extend(run_suite(context, con, suite, config, catalogue, memory_when_short))
    return GateReport(
        results=results,
        config_path=str(path),
        config_sha256=sha256_file(path),
        checked_at=datetime.now().isoformat(timespec="seconds"),
    )


# --- the report that reads offline ----------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1b1b;max-width:70rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%;font-size:.9rem}
td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
.passed{color:#1a7f37}.warning{color:#9a6700}.blocked{color:#cf222e;font-weight:600}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;border:1px solid currentColor}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}pre{white-space:pre-wrap;margin:0}
"""


def render_html(report: GateReport) -> str:
    esc = html.escape
    s = report.summary()
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Quality gates</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Quality gates of this release</h1>",
        (
            "<p>This public copy names every expectation, its thresholds and its outcome. What the gates "
            "observed in the data (values, counts, shares, example rows) is internal: those figures are "
            "computed before disclosure control.</p>"
            if report.public
            else ""
        ),
        f"<p>Outcome: <span class='badge {esc(_css(s['outcome']))}'>{esc(s['outcome'])}</span> — "
        f"{s['passed']} of {s['expectations']} expectations passed, {s['blocking_failures']} blocking "
        f"failure(s), {s['warnings']} warning(s). Checked"
        + (f" {esc(report.checked_at)}" if report.checked_at else "")
        + " with thresholds from "
        f"<code>{esc(Path(report.config_path).name)}</code> (SHA-256 <code>{esc(report.config_sha256[:16])}…</code>) "
        "and the indicator catalogue.</p>",
    ]
    for suite in SUITES:
        rows = report.for_suite(suite.name)
        if not rows:
            continue
        outcome = _suite_outcome(rows)
        parts.append(
            f"<h2 id='{esc(suite.name)}'>{esc(suite.name)} "
            f"<span class='badge {_css(outcome)}'>{esc(outcome)}</span></h2>"
            f"<p>{esc(suite.description)} Gates <code>{esc(suite.target)}</code>.</p>"
            + (
                "<table><tr><th>Result</th><th>Severity</th><th>Expectation</th><th>Configuration</th></tr>"
                if report.public
                else "<table><tr><th>Result</th><th>Severity</th><th>Expectation</th><th>Observed</th></tr>"
            )
        )
        for r in rows:
            if report.public:
                detail = "<code>" + esc(json.dumps(r.configuration, ensure_ascii=False, sort_keys=True)) + "</code>"
            else:
                detail = esc(r.observed)
                if r.examples:
                    detail += "<pre>" + esc("\n".join(json.dumps(e, ensure_ascii=False) for e in r.examples)) + "</pre>"
            parts.append(
                f"<tr><td class='{_css(r.outcome)}'>{esc(r.outcome)}</td><td>{esc(r.severity)}</td>"
                f"<td>{esc(r.description)}<br><code>{esc(r.expectation)}</code></td>"
                f"<td>{detail}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _css(outcome: str) -> str:
    return {"passed_with_warnings": "warning"}.get(outcome, outcome)
