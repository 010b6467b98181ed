"""The CLI papercuts of issue 16: dates as `status` prints them, unknown names refused before any
work, plain output in pipes, descriptions that render, one error class with its exit code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from orchestration import demo, pipeline
from orchestration.cli import app
from orchestration.cli_common import parse_stichtag, release_ident
from orchestration.dbt_runner import DbtFailed
from orchestration.errors import SozialmonitorError
from orchestration.ingest.loader import IngestReport
from tests.helpers import settings_for

runner = CliRunner()
PROJECT = Path(__file__).resolve().parents[2]
ANSI = "\x1b["


def _touched(settings) -> list[Path]:
    """What a refused call must not have made: warehouse (or its lock), raw/, quarantine, releases."""
    places = (settings.warehouse_path.parent, settings.raw_dir, settings.quarantine_dir, settings.releases_dir)
    return [p for p in places if p.exists()]


def _never(*_args, **_kwargs):
    pytest.fail("the command started working although an option was invalid")


# 1. Stichtage: ISO and German, one parser, a clear usage error otherwise


def test_a_stichtag_is_read_the_iso_way_and_the_german_way():
    assert parse_stichtag("2024-12-31") == parse_stichtag("31.12.2024") == date(2024, 12, 31)
    assert parse_stichtag(" 1.2.2023 ") == date(2023, 2, 1)
    for bad in ("31.13.2024", "2024-02-30", "12/31/2024", "Silvester", ""):
        with pytest.raises(typer.BadParameter, match="is not a date"):
            parse_stichtag(bad)
    assert release_ident("31.12.2024/v2") == "2024-12-31/v2"
    assert release_ident("31.12.2024") == "2024-12-31"
    assert release_ident("latest") == "latest" and release_ident("2024-12-31/v1") == "2024-12-31/v1"


def test_ingest_takes_the_stichtag_as_status_prints_it(tmp_path, monkeypatch):
    settings = settings_for(tmp_path)
    asked = []

    def run_ingest(settings, **kwargs):
        asked.append(kwargs["stichtage"])
        return IngestReport(results=[], unrecognised=[])

    monkeypatch.setattr(pipeline, "run_ingest", run_ingest)
    result = runner.invoke(app, ["ingest", "--stichtag", "31.12.2024", "--stichtag", "2023-12-31"], env=settings.env())
    assert result.exit_code == 0, result.output
    assert asked == [[date(2024, 12, 31), date(2023, 12, 31)]]


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "--stichtag", "31.13.2024"],
        ["unload", "--stichtag", "2024-31-12", "--reason", "test"],
    ],
)
def test_an_invalid_stichtag_is_a_usage_error_without_a_traceback(tmp_path, monkeypatch, args):
    settings = settings_for(tmp_path)
    monkeypatch.setattr(pipeline, "run_ingest", _never)
    result = runner.invoke(app, args, env=settings.env())
    assert result.exit_code == 2, result.output
    assert "is not a date" in result.output and "31.12.2024" in result.output  # says how to write it
    assert "--stichtag" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert _touched(settings) == []


def test_unload_takes_the_german_stichtag(tmp_path):
    settings = settings_for(tmp_path)
    result = runner.invoke(app, ["unload", "--stichtag", "31.12.2024", "--reason", "test"], env=settings.env())
    # past the date: refused only because there is no warehouse here
    assert result.exit_code == 2 and "No warehouse at" in result.output, result.output


# 2. ingest --source: only the contracts' sources


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--residents", "500"], "at least 1,000 residents"),
        (["--viertel-residents", "10"], "a Stadtviertel needs at least 1,000"),
    ],
)
def test_demo_data_refuses_a_city_it_cannot_make_before_any_work(tmp_path, monkeypatch, args, message):
    settings = settings_for(tmp_path)
    monkeypatch.setattr(demo, "generate", _never)
    result = runner.invoke(app, ["demo-data", *args], env=settings.env())
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
    assert _touched(settings) == []


def test_ingest_refuses_an_unknown_source_and_lists_the_known_ones(tmp_path, monkeypatch):
    from orchestration.ingest import load_contracts

    settings = settings_for(tmp_path)
    monkeypatch.setattr(pipeline, "run_ingest", _never)
    result = runner.invoke(app, ["ingest", "--source", "wohngeld", "--source", "nosuch"], env=settings.env())
    assert result.exit_code == 2, result.output
    assert "'nosuch'" in result.output and "--source" in result.output
    flat = " ".join(result.output.split())  # the error panel wraps lines
    for source in load_contracts(settings.contracts_dir, settings.project_vars):
        assert source in flat
    assert _touched(settings) == []


# 3. gates --suite: only data_quality's suites


def test_gates_refuses_an_unknown_suite_and_lists_the_suites(tmp_path):
    from data_quality import SUITE_NAMES

    settings = settings_for(tmp_path)  # no warehouse: the name is checked before it is opened
    result = runner.invoke(app, ["gates", "--suite", "nonexistent"], env=settings.env())
    assert result.exit_code == 2, result.output
    assert "passed 0/0" not in result.output and "No warehouse" not in result.output
    flat = " ".join(result.output.split())
    assert "'nonexistent'" in flat and all(name in flat for name in SUITE_NAMES)


# 4. run: every option checked before the lock and before any work


def test_run_refuses_an_unknown_disclosure_method_before_any_work(tmp_path, monkeypatch):
    from orchestration.disclosure import DISCLOSURE_METHODS

    settings = settings_for(tmp_path)
    monkeypatch.setattr(pipeline, "run_pipeline", _never)
    monkeypatch.setattr(pipeline, "has_extracts", _never)
    monkeypatch.setattr(demo, "generate", _never)
    result = runner.invoke(app, ["run", "--disclosure", "foo"], env=settings.env())
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "'foo'" in flat and "--disclosure" in flat
    assert all(method in flat for method in DISCLOSURE_METHODS)
    assert _touched(settings) == []  # no lock file, no demo city, nothing half-built
    result = runner.invoke(app, ["run", "--wait", "-5"], env=settings.env())
    assert result.exit_code == 2 and _touched(settings) == [], result.output


def test_the_disclosure_methods_are_written_once(tmp_path, monkeypatch):
    import yaml

    from orchestration.disclosure import DISCLOSURE_METHODS

    project = yaml.safe_load((PROJECT / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["vars"]["disclosure_method"] in DISCLOSURE_METHODS
    model = (PROJECT / "dbt_project" / "models" / "disclosure" / "disclosure_pattern.py").read_text(encoding="utf-8")
    assert "DISCLOSURE_METHODS" in model and "suppression or cell_key" not in model
    # a known method goes through to dbt as the var
    seen = []

    def run_pipeline(settings, **kwargs):
        seen.append(kwargs["dbt_vars"])
        raise DbtFailed("dbt build failed:\n  - model.x: boom")

    monkeypatch.setattr(pipeline, "run_pipeline", run_pipeline)
    result = runner.invoke(app, ["run", "--disclosure", "cell_key"], env=settings_for(tmp_path).env())
    assert seen == [{"disclosure_method": "cell_key"}]
    assert result.exit_code == 4 and "Run stopped in dbt:" in result.output and "model.x: boom" in result.output


# 5. Piped output: no colour codes, no solver lines


def _cli(args: list[str], settings, **env) -> subprocess.CompletedProcess:
    """The CLI as a separate process with its output in a pipe (not a terminal)."""
    full = {**os.environ, **settings.env(), "PYTHONPATH": str(PROJECT), **env}
    full.pop("FORCE_COLOR", None)
    full.pop("DBT_USE_COLORS", None)
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        capture_output=True, text=True, env=full, cwd=PROJECT, timeout=600,
    )  # fmt: skip


def test_piped_dbt_output_has_no_colour_codes(tmp_path):
    """dbt colours its lines terminal or not; through the CLI into a pipe it must not."""
    settings = settings_for(tmp_path)  # no warehouse: dbt starts, logs, and fails fast
    done = _cli(["docs"], settings)
    out = done.stdout + done.stderr
    assert "Running with dbt" in out, out  # dbt did speak
    assert ANSI not in out, out[:2000]
    assert done.returncode == 4 and "Run stopped in dbt:" in out


def test_no_color_is_respected_in_a_terminal(tmp_path):
    """NO_COLOR (no-color.org): no colour codes even when the output is a terminal."""
    import pty

    settings = settings_for(tmp_path)
    env = {**os.environ, **settings.env(), "PYTHONPATH": str(PROJECT), "NO_COLOR": "1", "TERM": "xterm-256color"}
    env.pop("FORCE_COLOR", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI in the terminal
        os.chdir(PROJECT)
        os.execve(sys.executable, [sys.executable, "-m", "orchestration.cli", "gates", "--suite", "nosuch"], env)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    out = b"".join(chunks).decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 2, out
    assert "nosuch" in out
    sgr = [params.split(";") for params in re.findall(r"\x1b\[([0-9;]*)m", out)]
    colours = [p for params in sgr for p in params if p and (30 <= int(p) <= 48 or 90 <= int(p) <= 107)]
    assert colours == [], out  # bold or dim may stay (NO_COLOR is about colour)


def test_the_solver_says_nothing_in_a_pipe_unless_asked(tmp_path):
    """HiGHS prints its banner to stdout (C level) when its first instance is made: silenced, and
    shown only with the solver's logger at DEBUG."""
    snippet = (
        "import logging, sys\n"
        "if sys.argv[1] == 'debug':\n"
        "    logging.getLogger('orchestration.disclosure.solver').setLevel(logging.DEBUG)\n"
        "from orchestration.disclosure.audit import new_highs\n"
        "print('before', flush=True)\n"
        "h = new_highs()\n"
        "h.run()\n"
        "print('after')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    quiet = subprocess.run([sys.executable, "-c", snippet, "quiet"], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "before\nafter\n" and "HiGHS" not in quiet.stderr
    loud = subprocess.run([sys.executable, "-c", snippet, "debug"], capture_output=True, text=True, env=env)
    assert "Running HiGHS" in loud.stdout  # the test would see the banner if it leaked


def test_a_release_audit_in_a_pipe_has_no_solver_lines_and_no_colour(released_copy):
    """The whole way: the disclosure audit solves with HiGHS; piped, its output is only the report."""
    done = _cli(["release", "audit"], released_copy)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert '"passed": true' in out  # the report itself (its "method" names HiGHS: that is no solver line)
    assert "Running HiGHS" not in out and "Copyright" not in out and ANSI not in out, out[:2000]


# 6. Dagster descriptions: placeholders visible in Markdown


def test_asset_descriptions_show_their_placeholders():
    from markdown_it import MarkdownIt

    from orchestration.defs.ingest.assets import build_raw_assets
    from orchestration.defs.partitions import STICHTAG_PARTITIONS
    from orchestration.defs.release.assets import DESCRIPTION
    from orchestration.settings import Settings

    descriptions = [DESCRIPTION]
    for asset in build_raw_assets(Settings.from_env(), STICHTAG_PARTITIONS):
        descriptions.extend(asset.descriptions_by_key.values())
    assert "`releases/<Stichtag>/v<N>/`" in descriptions[0]
    md = MarkdownIt("commonmark")
    for text in descriptions:
        html = md.render(text)
        # every <word> of the text is shown escaped in the page, none is taken for an HTML tag
        for placeholder in re.findall(r"<[A-Za-z][A-Za-z_]*>", text):
            assert placeholder not in html, (placeholder, text)
            assert placeholder.replace("<", "&lt;").replace(">", "&gt;") in html, (placeholder, html)


# 7. One error class: exit codes as docs/operations.md documents them


def test_every_project_error_carries_its_documented_exit_code():
    from data_quality import GateFailed
    from data_quality.beside import GatesDidNotRun
    from orchestration.dbt_runner import DbtFailed
    from orchestration.ingest import ContractError, IngestFailed
    from orchestration.ingest.unload import UnloadRefused
    from orchestration.locking import RunInProgress
    from orchestration.pseudonyms import KeyMissing
    from orchestration.release import ReleaseRefused
    from orchestration.release.disclosure_audit import DisclosureAuditFailed

    codes = {
        IngestFailed: 2, UnloadRefused: 2, RunInProgress: 3, DbtFailed: 4, GateFailed: 5, GatesDidNotRun: 5,
        ReleaseRefused: 6,
        DisclosureAuditFailed: 7, KeyMissing: 9, ContractError: 11,
    }  # fmt: skip
    for cls, code in codes.items():
        assert issubclass(cls, SozialmonitorError) and cls.exit_code == code, cls
    table = (PROJECT / "docs" / "operations.md").read_text(encoding="utf-8")
    documented = {int(n) for n in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert set(codes.values()) | {10} <= documented


def test_errors_module_imports_nothing_from_the_project():
    source = (PROJECT / "orchestration" / "errors.py").read_text(encoding="utf-8")
    imports = re.findall(r"^\s*(?:from|import)\s+(\S+)", source, flags=re.M)
    # the standard library and pydantic (configuration_problems renders its errors), nothing of ours
    assert imports and all(i.split(".")[0] in sys.stdlib_module_names | {"__future__", "pydantic"} for i in imports), (
        imports
    )


def test_one_function_turns_errors_into_messages_and_exit_codes(tmp_path, monkeypatch):
    """The same error ends `ingest` and `run` the same way; an OSError is the machine's (10)."""
    import errno

    from orchestration.pseudonyms import KeyMissing

    settings = settings_for(tmp_path)

    def no_key(*_args, **_kwargs):
        raise KeyMissing("no pseudonymisation key: set SOZIALMONITOR_PSEUDONYM_KEY_FILE")

    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    for failure, code, words in ((no_key, 9, "The pseudonymisation key"), (full_disk, 10, "free disk space")):
        monkeypatch.setattr(pipeline, "run_ingest", failure)
        monkeypatch.setattr(pipeline, "run_pipeline", failure)
        for args in (["ingest"], ["run", "--no-demo"]):
            if args[0] == "run":
                monkeypatch.setattr(pipeline, "has_extracts", lambda _settings: True)
            result = runner.invoke(app, args, env=settings.env())
            assert result.exit_code == code, (args, result.output)
            assert words in result.output and "Traceback" not in result.output, result.output
            assert not isinstance(result.exception, (KeyMissing, OSError))


def test_the_cli_maps_exceptions_in_one_place():
    """No command maps an exception to an exit code by itself any more (cli_common.fail does)."""
    for path in sorted((PROJECT / "orchestration").glob("cli*.py")):
        text = path.read_text(encoding="utf-8")
        assert "environment_failure" not in text, path
        for code in (3, 4, 5, 6, 7, 9, 10, 11):
            assert f"typer.Exit({code})" not in text, (path, code)
