"""Hostile and clumsy deliveries on hand-made files (issue 15, ingestion side): each kind is refused
with file, line, column and a fix, quarantined, and never crashes the load or hides the rest of the
delivery. Real formats (cp1252 with CRLF, UTF-8 with BOM), real DuckDB files, the shipped contracts."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pytest

from orchestration.ingest import IngestFailed, ingest
from orchestration.ingest.loader import describe_unrecognised
from orchestration.pseudonyms import ENV_KEY, ENV_KEY_FILE
from orchestration.warehouse import connect
from tests.helpers import settings_for

TEST_KEY = "hostile-test-key-0123456789"
REGISTER_HEADER = (
    "Personen_ID;Geburtsjahr;Geburtsmonat;Geschlecht;Staatsangehoerigkeit_1;Staatsangehoerigkeit_2;"
    "Migrationshintergrund;Strassenschluessel;Hausnummer;Hausnummernzusatz;Haushalts_ID;Einzugsdatum;Wohnungsstatus"
)


def person(i: int, house: str = "12", suffix: str = "") -> str:
    return f"{i:016x};1980;5;w;000;;n;00012;{house};{suffix};H{i:08d};01.02.2010;H"


def register(rows: int = 20, newline: str = "\r\n", **overrides: str) -> bytes:
    """A cp1252 register extract; `overrides` replace whole lines by their index (1-based data row)."""
    lines = [REGISTER_HEADER] + [overrides.get(f"r{i}", person(i)) for i in range(1, rows + 1)]
    return (newline.join(lines) + newline).encode("cp1252")


KITA_HEADER = "Kind_Nr;Geburtsdatum;Strasse;Hausnummer;Betreuungsumfang_Std;Einrichtung"


def kita(*rows: str) -> bytes:
    body = rows or tuple(f"K{i:07d};01.03.2021;Töpferstraße;4;35;Kita 042" for i in range(1, 6))
    return ("\ufeff" + "\r\n".join([KITA_HEADER, *body]) + "\r\n").encode("utf-8")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, TEST_KEY)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    settings = settings_for(tmp_path)
    for folder in ("einwohner", "jugendamt", "gesundheitsamt"):
        (settings.raw_dir / folder).mkdir(parents=True)
    con = connect(settings.warehouse_path)
    yield settings, con
    con.close()


def put(settings, relpath: str, data: bytes) -> Path:
    path = settings.raw_dir / relpath
    path.write_bytes(data)
    return path


def refused(settings, con, relpath: str) -> str:
    """Ingest; the file must be refused, quarantined with an error text; returns the problems."""
    with pytest.raises(IngestFailed) as exc:
        ingest(settings, con, sources=None)
    results = {r.extract.path.relative_to(settings.raw_dir).as_posix(): r for r in exc.value.report.rejected}
    assert relpath in results, f"{relpath} was not refused: {exc.value}"
    result = results[relpath]
    assert not (settings.raw_dir / relpath).exists()  # moved to the quarantine, out of raw/
    assert result.quarantined_to.exists()
    error_text = result.quarantined_to.with_name(result.quarantined_to.name + ".error.txt").read_text(encoding="utf-8")
    assert "Traceback" not in error_text
    return "\n".join(str(v) for v in result.violations)


# --- class 2: crashes become refusals -----------------------------------------------------------


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("EWR_Bestand_20241331.csv", "'20241331' in the file name is not a calendar date"),
        ("EWR_Bestand_20230229.csv", "'20230229' in the file name is not a calendar date"),
        ("EWR_Bestand_20301231.csv", "2030-12-31 in the file name lies in the future"),
    ],
)
def test_file_names_whose_date_is_no_date_or_in_the_future_are_refused_unread(env, name, fragment):
    settings, con = env
    put(settings, f"einwohner/{name}", register())
    put(settings, "einwohner/EWR_Bestand_20221231.csv", register())  # the rest of the delivery still loads
    problems = refused(settings, con, f"einwohner/{name}")
    assert fragment in problems and "Fix: " in problems
    assert con.execute("select count(*) from raw.register_persons").fetchone()[0] == 20


@pytest.mark.parametrize(
    "newline_of_row_5, expected_rows",
    [("\n", 20), ("\r", 20)],
    ids=["LF-row-in-CRLF-file", "CR-row-in-CRLF-file"],
)
def test_mixed_line_endings_load_with_the_right_lines(env, newline_of_row_5, expected_rows):
    settings, con = env
    data = register().decode("cp1252").split("\r\n")
    text = "\r\n".join(data[:5]) + newline_of_row_5 + "\r\n".join(data[5:])
    put(settings, "einwohner/EWR_Bestand_20221231.csv", text.encode("cp1252"))
    ingest(settings, con)
    rows = con.execute("select count(*), max(_source_line) from raw.register_persons").fetchone()
    assert rows == (expected_rows, expected_rows + 1)


def test_a_file_with_old_mac_line_endings_loads(env):
    settings, con = env
    put(settings, "einwohner/EWR_Bestand_20221231.csv", register(newline="\r"))
    ingest(settings, con)
    assert con.execute("select count(*) from raw.register_persons").fetchone()[0] == 20


def test_a_parser_error_names_the_line_without_duckdb_internals(env):
    settings, con = env
    data = register(r7=person(7)[:-2] + '"H;x"x')
    put(settings, "einwohner/EWR_Bestand_20221231.csv", data)
    problems = refused(settings, con, "einwohner/EWR_Bestand_20221231.csv")
    assert "line 8" in problems
    for internal in ("sozialmonitor_", "strict_mode", "Possible Solution", "/tmp"):
        assert internal not in problems


def test_lines_are_named_right_in_a_file_read_in_parallel(env):
    """A register of 300,000 rows is parsed by several threads, in row groups of 122,880 rows: each
    loaded row keeps its physical line (its street key and house number spell it here), and a bad
    value near the end is named by its line."""
    settings, con = env

    def row(i: int) -> str:  # line i + 1 = street key * 500 + house number
        return f"{i:016x};1980;5;w;000;;n;{i // 500:05d};{i % 500 + 1};;H{i:08d};01.02.2010;H"

    lines = [REGISTER_HEADER, *(row(i) for i in range(1, 300_001))]
    put(settings, "einwohner/EWR_Bestand_20221231.csv", ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    lines[250_001] = lines[250_001].replace(";1980;5;", ";1980;13;")  # the data row on line 250,002
    put(settings, "einwohner/EWR_Bestand_20211231.csv", ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    problems = refused(settings, con, "einwohner/EWR_Bestand_20211231.csv")
    assert "line 250002, column 'Geburtsmonat'" in problems and "outside the range" in problems
    loaded, misplaced = con.execute(
        "select count(*), count(*) filter (where _source_line <> cast(street_key as integer) * 500 + house_number) "
        "from raw.register_persons"
    ).fetchone()
    assert (loaded, misplaced) == (300_000, 0)


# --- class 3: values that pass a pattern but cannot be true ---------------------------------------


@pytest.mark.parametrize(
    "row, column, fragment",
    [
        (person(3, house="99999999999999999999999"), "Hausnummer", "a number too large for the column"),
        (person(3, suffix="a\x00b"), "Hausnummernzusatz", "control character"),
        (person(3, suffix="a\x1bb"), "Hausnummernzusatz", "control character"),
        (person(3, suffix="x" * 201), "Hausnummernzusatz", "longer than 200 characters"),
        ("0000000000000003;1980;13;w;000;;n;00012;12;;H00000003;01.02.2010;H", "Geburtsmonat", "outside the range"),
    ],
    ids=["integer-overflow", "nul-byte", "escape", "overlong", "month-13"],
)
def test_impossible_register_values_are_refused(env, row, column, fragment):
    settings, con = env
    put(settings, "einwohner/EWR_Bestand_20221231.csv", register(r3=row))
    problems = refused(settings, con, "einwohner/EWR_Bestand_20221231.csv")
    assert f"line 4, column '{column}'" in problems and fragment in problems


@pytest.mark.parametrize(
    "birth, fragment",
    [("01.03.2001", "outside the range 2014-12-31 to 2022-12-31"), ("01.01.2023", "after the Stichtag")],
    ids=["born-2001", "born-after-stichtag"],
)
def test_a_day_care_child_must_be_a_child(env, birth, fragment):
    settings, con = env
    put(settings, "jugendamt/Kita_Belegung_20221231.csv", kita(f"K0000001;{birth};Töpferstraße;4;35;Kita 042"))
    problems = refused(settings, con, "jugendamt/Kita_Belegung_20221231.csv")
    assert "column 'Geburtsdatum'" in problems and fragment in problems.replace("(a date", "after the Stichtag (a date")


def test_a_school_entry_birth_month_must_be_a_month_of_a_school_starter(env):
    settings, con = env
    header = (
        "Untersuchungsnummer;Geburtsmonat;Geschlecht;Strasse;Hausnummer;Sprachfoerderbedarf;Gewichtsstatus;"
        "Koerperkoordination;Vorsorgeheft;Familiensprache"
    )
    good = "SEU22-00001;09.2016;m;Fischerweg;21;nein;normalgewichtig;unauffaellig;vollstaendig;deutsch"
    for month, fragment in (("13.2016", "not a valid date in the form %m.%Y"), ("09.2001", "outside the range")):
        bad = good.replace("SEU22-00001;09.2016", f"SEU22-00002;{month}")
        put(settings, "gesundheitsamt/SEU_Einschulung_2022.csv", f"{header}\r\n{good}\r\n{bad}\r\n".encode("cp1252"))
        problems = refused(settings, con, "gesundheitsamt/SEU_Einschulung_2022.csv")
        assert "line 3, column 'Geburtsmonat'" in problems and fragment in problems


@pytest.mark.parametrize(
    "text", ["Gülsüm-Straße", "Dağ Sokak", "Łódzka", "Café"], ids=["umlaut", "turkish", "polish", "accent"]
)
def test_utf8_text_inside_a_cp1252_file_is_refused(env, text):
    settings, con = env
    data = register().decode("cp1252").replace(person(4), person(4, suffix=text))
    mixed = data.split("\r\n")
    raw = "\r\n".join(mixed[:4]).encode("cp1252") + b"\r\n" + "\r\n".join(mixed[4:]).encode("utf-8")
    put(settings, "einwohner/EWR_Bestand_20221231.csv", raw)
    problems = refused(settings, con, "einwohner/EWR_Bestand_20221231.csv")
    assert "line 5" in problems and "UTF-8 encoded text" in problems and "Hausnummernzusatz" in problems


def test_doubly_encoded_utf8_is_refused(env):
    settings, con = env
    row = "K0000003;01.03.2021;" + "Töpferstraße".encode().decode("cp1252") + ";4;35;Kita 042"
    put(settings, "jugendamt/Kita_Belegung_20221231.csv", kita("K0000001;01.03.2021;Am Hang;4;35;Kita 042", row))
    problems = refused(settings, con, "jugendamt/Kita_Belegung_20221231.csv")
    assert "line 3" in problems and "doubly encoded" in problems


# --- class 4: incomplete deliveries ---------------------------------------------------------------


def test_a_file_cut_inside_its_last_field_is_refused(env):
    settings, con = env
    data = register().rstrip(b"\r\n")
    put(settings, "einwohner/EWR_Bestand_20221231.csv", data[:-1])  # 'H' of Wohnungsstatus lost: 'H' → ''
    problems = refused(settings, con, "einwohner/EWR_Bestand_20221231.csv")
    assert "line 21" in problems


def test_a_file_cut_at_a_line_end_is_caught_by_its_control_total(env):
    settings, con = env
    full = register(rows=20)
    cut = b"\r\n".join(full.split(b"\r\n")[:20]) + b"\r\n"  # 19 of 20 records, every line intact
    path = put(settings, "einwohner/EWR_Bestand_20221231.csv", cut)
    path.with_name(path.name + ".count").write_text("Datensaetze: 20\n")
    problems = refused(settings, con, "einwohner/EWR_Bestand_20221231.csv")
    assert "19 records read, but the control total EWR_Bestand_20221231.csv.count says 20" in problems
    quarantined = list((settings.quarantine_dir / "register_persons").glob("*.count"))
    assert len(quarantined) == 1  # the control total went along with its file

    path = put(settings, "einwohner/EWR_Bestand_20221231.csv", full)
    path.with_name(path.name + ".count").write_text("20")
    ingest(settings, con)
    assert con.execute("select count(*) from raw.register_persons").fetchone()[0] == 20


@pytest.mark.parametrize("content", ["zwanzig", "", "20;21"])
def test_an_unreadable_control_total_is_refused(env, content):
    settings, con = env
    path = put(settings, "einwohner/EWR_Bestand_20221231.csv", register())
    path.with_name(path.name + ".count").write_text(content)
    assert "does not hold a record count" in refused(settings, con, "einwohner/EWR_Bestand_20221231.csv")


# --- class 5: provenance ------------------------------------------------------------------------


def test_source_line_is_the_physical_line_after_quoted_line_breaks(env):
    settings, con = env
    rows = [f"K{i:07d};01.03.2021;Töpferstraße;4;35;Kita 042" for i in range(1, 6)]
    rows[1] = 'K0000002;01.03.2021;Töpferstraße;4;35;"Kita 042"'
    rows[2] = 'K0000003;01.03.2021;Töpferstraße;4;35;"Kita ""Sonne"""'
    put(settings, "jugendamt/Kita_Belegung_20221231.csv", kita(*rows))
    ingest(settings, con)
    # quotes without line breaks: lines unchanged
    lines = con.execute("select _source_line from raw.jugendamt_kita order by _source_line").fetchall()
    assert [r[0] for r in lines] == [2, 3, 4, 5, 6]

    rows[1] = 'K0000002;01.03.2021;"Töpfer-\r\nstraße";4;35;Kita 042'
    put(settings, "jugendamt/Kita_Belegung_20231231.csv", kita(*rows))
    problems = refused(settings, con, "jugendamt/Kita_Belegung_20231231.csv")
    # the record starting at line 3 holds a line break (refused as a control character), and
    # the records after it are counted from their physical lines
    assert "line 3, column 'Strasse'" in problems and "control character" in problems


def test_source_line_counts_line_breaks_inside_quotes(env, monkeypatch):
    """Free-text columns may hold line breaks (a remark field); the records after them keep their
    physical line numbers."""
    from orchestration.ingest import reading

    settings, con = env
    rows = [f"K{i:07d};01.03.2021;Töpferstraße;4;35;Kita 042" for i in range(1, 6)]
    rows[1] = 'K0000002;01.03.2021;Töpferstraße;4;35;"Kita\n042\nNord"'
    data = kita(*rows)
    stage = reading.stage_csv
    from orchestration.ingest.contracts import load_contracts

    contract = load_contracts(settings.contracts_dir, settings.project_vars)["jugendamt_kita"]
    path = put(settings, "jugendamt/Kita_Belegung_20221231.csv", data)
    stage(con, contract, path, "x.csv", data)
    lines = [r[0] for r in con.execute("select _line from _stage order by _line").fetchall()]
    assert lines == [2, 3, 6, 7, 8]


# --- class 6: inputs silently ignored -------------------------------------------------------------


def test_links_folders_and_hidden_files_are_reported_and_outside_content_never_echoed(env, tmp_path):
    settings, con = env
    put(settings, "einwohner/EWR_Bestand_20221231.csv", register())
    secret = tmp_path / "outside.txt"
    secret.write_text("geheimer-inhalt;der-nicht-in-meldungen-gehoert\n")
    (settings.raw_dir / "einwohner" / "EWR_Bestand_20211231.csv").symlink_to(secret)
    (settings.raw_dir / "einwohner" / "EWR_Bestand_20201231.csv").symlink_to(tmp_path / "missing.csv")
    (settings.raw_dir / "einwohner" / "EWR_Bestand_20191231.csv").mkdir()
    (settings.raw_dir / "einwohner" / ".EWR_Bestand_20181231.csv").write_bytes(register())
    (settings.raw_dir / "jugendamt" / "alt").mkdir()
    with pytest.raises(IngestFailed) as exc:
        ingest(settings, con)
    rejected = {r.extract.path.name: "\n".join(map(str, r.violations)) for r in exc.value.report.rejected}
    assert "outside raw/; it was not read" in rejected["EWR_Bestand_20211231.csv"]
    assert "does not exist" in rejected["EWR_Bestand_20201231.csv"]
    assert "a folder is named like an extract" in rejected["EWR_Bestand_20191231.csv"]
    everything = str(exc.value) + "".join(p.read_text() for p in settings.quarantine_dir.rglob("*.error.txt"))
    assert "geheimer-inhalt" not in everything
    assert secret.read_text().startswith("geheimer")  # the link was moved, not its target
    lines = describe_unrecognised(settings, exc.value.report)
    assert any(line.startswith("hidden file einwohner/.EWR_Bestand_20181231.csv") for line in lines)
    assert any(line.startswith("folder jugendamt/alt") for line in lines)
    assert con.execute("select count(*) from raw.register_persons").fetchone()[0] == 20


# --- class 1: keys and file modes -----------------------------------------------------------------


def test_quarantine_and_warehouse_are_readable_by_the_owner_only(env):
    settings, con = env
    put(settings, "einwohner/EWR_Bestand_20221231.csv", register(r2=person(2, house="x")))
    refused(settings, con, "einwohner/EWR_Bestand_20221231.csv")
    for path in [settings.quarantine_dir, *settings.quarantine_dir.rglob("*"), settings.warehouse_path.parent]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} has mode {mode:04o}"
    assert stat.S_IMODE(settings.warehouse_path.stat().st_mode) == 0o600


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    from orchestration.demo import DemoConfig, generate

    raw = tmp_path_factory.mktemp("tiny-demo") / "raw"
    generate(raw, DemoConfig(residents=10_000, seed=20241231))
    return raw


def test_the_demo_key_loads_only_the_generators_own_files(tmp_path, monkeypatch, tiny_demo):
    import shutil

    from orchestration.pseudonyms import DEMO_KEY_FILE

    monkeypatch.delenv(ENV_KEY, raising=False)
    settings = settings_for(tmp_path)
    shutil.copytree(tiny_demo, settings.raw_dir)
    register_file = settings.raw_dir / "einwohner" / "EWR_Bestand_20221231.csv"
    register_file.write_bytes(register())  # a real extract dropped into the demo's raw/
    # whether the demo key comes by itself (marker) or is passed explicitly, it refuses the file
    for environ in ({}, {ENV_KEY_FILE: str(DEMO_KEY_FILE)}):
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        with connect(tmp_path / f"w{len(environ)}.duckdb") as con, pytest.raises(IngestFailed) as exc:
            ingest(settings.with_paths(warehouse_path=tmp_path / f"w{len(environ)}.duckdb"), con)
        [rejected] = exc.value.report.rejected
        assert rejected.extract.path.name == "EWR_Bestand_20221231.csv"
        assert "published demo key" in str(exc.value)
        shutil.move(rejected.quarantined_to, register_file)
    loaded = {r.extract.path.name for r in exc.value.report.results if r.status == "loaded"}
    assert "EWR_Bestand_20211231.csv" in loaded  # the generator's own files load


def test_exit_codes_and_messages_for_key_problems(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from orchestration.cli import app

    settings = settings_for(tmp_path)
    (settings.raw_dir / "einwohner").mkdir(parents=True)
    put(settings, "einwohner/EWR_Bestand_20221231.csv", register())
    env = {
        **settings.env(),
        "SOZIALMONITOR_RELEASES_DIR": str(settings.releases_dir),
        ENV_KEY: "",
        ENV_KEY_FILE: "",
    }
    runner = CliRunner()
    result = runner.invoke(app, ["ingest"], env=env)
    assert result.exit_code == 9, result.output
    assert "no pseudonymisation key" in result.output and "Traceback" not in result.output
    key = tmp_path / "key"
    key.write_text("a-key-others-can-read-0123")
    os.chmod(key, 0o644)
    result = runner.invoke(app, ["ingest"], env={**env, ENV_KEY_FILE: str(key)})
    assert result.exit_code == 9 and "chmod 600" in result.output
    os.chmod(key, 0o600)
    assert runner.invoke(app, ["ingest"], env={**env, ENV_KEY_FILE: str(key)}).exit_code == 0
    other = tmp_path / "other"
    other.write_text("another-key-0123456789")
    os.chmod(other, 0o600)
    result = runner.invoke(app, ["ingest", "--force"], env={**env, ENV_KEY_FILE: str(other)})
    assert result.exit_code == 9 and "not the key this warehouse was loaded with" in result.output


def test_today_decides_what_is_the_future(env):
    """The check uses the machine's date; a Stichtag of today is not in the future."""
    from orchestration.ingest.contracts import load_contracts
    from orchestration.ingest.loader import discover

    settings, _ = env
    today = date.today()
    put(settings, f"einwohner/EWR_Bestand_{today:%Y%m%d}.csv", register())
    [extract] = discover(settings, load_contracts(settings.contracts_dir, settings.project_vars))[0]
    assert extract.problem is None


# --- a wrongly loaded Stichtag can be taken out again -------------------------------------------


def test_unload_removes_a_stichtag_with_a_record_and_its_files_leave_raw(env, monkeypatch):
    from typer.testing import CliRunner

    from orchestration.cli import app
    from orchestration.ingest.unload import UnloadRefused, unload

    settings, con = env
    put(settings, "einwohner/EWR_Bestand_20211231.csv", register(rows=10))
    wrong = put(settings, "einwohner/EWR_Bestand_20221231.csv", register(rows=20))
    wrong.with_name(wrong.name + ".count").write_text("20")
    put(settings, "jugendamt/Kita_Belegung_20221231.csv", kita())
    ingest(settings, con)
    released = {("register_persons", "2022-12-31"): ("abc", "2022-12-31/v1")}
    with pytest.raises(UnloadRefused, match="published in release"):
        unload(settings, con, date(2022, 12, 31), "test delivery", released=released)
    with pytest.raises(UnloadRefused, match="say why"):
        unload(settings, con, date(2022, 12, 31), "  ")
    con.close()

    env_vars = {**settings.env(), "SOZIALMONITOR_RELEASES_DIR": str(settings.releases_dir), ENV_KEY: TEST_KEY}
    result = CliRunner().invoke(
        app, ["unload", "--stichtag", "2022-12-31", "--reason", "Testlieferung, falscher Stichtag"], env=env_vars
    )
    assert result.exit_code == 0, result.output
    assert "register_persons 20" in result.output and "jugendamt_kita 5" in result.output
    assert not wrong.exists() and not wrong.with_name(wrong.name + ".count").exists()
    with connect(settings.warehouse_path) as con2:
        assert con2.execute("select list(distinct stichtag) from raw.register_persons").fetchone()[0] == [
            date(2021, 12, 31)
        ]
        assert con2.execute("select count(*) from raw._load_log where stichtag = '2022-12-31'").fetchone()[0] == 0
        who, why, files = con2.execute("select unloaded_by, reason, files from ops.unloads").fetchone()
        assert who and why == "Testlieferung, falscher Stichtag" and "EWR_Bestand_20221231.csv" in files
        report = ingest(settings, con2)  # the next run does not load it again
        assert {r.extract.stichtag for r in report.results} == {date(2021, 12, 31)}
    moved = list((settings.quarantine_dir / "_unloaded").rglob("EWR_Bestand_20221231.csv*"))
    assert len(moved) == 2


def test_a_full_disk_ends_with_exit_code_10_and_the_path(env, monkeypatch):
    import errno

    from typer.testing import CliRunner

    from orchestration.cli import app
    from orchestration.ingest import loader

    settings, con = env
    con.close()
    put(settings, "einwohner/EWR_Bestand_20221231.csv", register(r2=person(2, house="x")))

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(loader.shutil, "move", no_space)
    env_vars = {**settings.env(), "SOZIALMONITOR_RELEASES_DIR": str(settings.releases_dir), ENV_KEY: TEST_KEY}
    result = CliRunner().invoke(app, ["ingest"], env=env_vars)
    assert result.exit_code == 10, result.output
    assert "No space left on device" in result.output and "free disk space" in result.output
    assert str(settings.quarantine_dir) in result.output
    assert "Traceback" not in result.output


def test_a_broken_contract_ends_with_exit_code_11_naming_the_field(env, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from orchestration.cli import app

    settings, con = env
    con.close()
    contracts = tmp_path / "contracts"
    shutil.copytree(settings.contracts_dir, contracts)
    path = contracts / "jugendamt_kita.yml"
    path.write_text(path.read_text().replace("min_from_stichtag: date-8y", "min_from_stichtag: date-eight-years"))
    env_vars = {
        **settings.env(),
        "SOZIALMONITOR_CONTRACTS_DIR": str(contracts),
        "SOZIALMONITOR_RELEASES_DIR": str(settings.releases_dir),
        ENV_KEY: TEST_KEY,
    }
    result = CliRunner().invoke(app, ["ingest"], env=env_vars)
    assert result.exit_code == 11, result.output
    assert "jugendamt_kita" in result.output and "birth_date" in result.output and "date-8y" in result.output


@pytest.mark.parametrize(
    "make, line, fragment",
    [
        (lambda: register().decode("cp1252").encode("utf-16"), 1, "UTF-16 encoded"),
        (lambda: b"PK\x03\x04" + bytes(range(256)) * 4, None, "not text but a ZIP archive"),
        (lambda: b"%PDF-1.7\n" + bytes(range(256)), None, "not text but a PDF document"),
        (lambda: register().replace(b";", b"\t"), 1, "separated by 'TAB', but the contract declares ';'"),
        (lambda: register().replace(b";", b","), 1, "separated by ',', but the contract declares ';'"),
        (lambda: register().replace(b"\r\n", b"\r\n\r\n", 4), 2, "an empty line between the data rows"),
        (lambda: register()[:-2] + b"x" * 3_000_000 + b"\r\n", 21, "Maximum line size"),
    ],
    ids=["utf16", "zip", "pdf", "tab", "comma", "blank-line", "huge-line"],
)
def test_files_that_are_not_the_agreed_text_are_refused_by_name(env, make, line, fragment):
    settings, con = env
    put(settings, "einwohner/EWR_Bestand_20221231.csv", make())
    problems = refused(settings, con, "einwohner/EWR_Bestand_20221231.csv")
    assert fragment in problems
    if line is not None:
        assert f"line {line}" in problems


def test_a_refused_delivery_still_names_the_files_nobody_claims(env):
    from typer.testing import CliRunner

    from orchestration.cli import app

    settings, con = env
    con.close()
    put(settings, "einwohner/EWR_Bestand_20221231.csv", b"")
    put(settings, "einwohner/EWR_Bestand_2022.csv", register())  # the date written short
    env_vars = {**settings.env(), "SOZIALMONITOR_RELEASES_DIR": str(settings.releases_dir), ENV_KEY: TEST_KEY}
    result = CliRunner().invoke(app, ["ingest"], env=env_vars)
    assert result.exit_code == 2
    assert "the file is empty" in result.output
    assert "file einwohner/EWR_Bestand_2022.csv was not loaded: expected names" in result.output
