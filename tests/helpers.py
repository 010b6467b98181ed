"""Small helpers shared by the tests."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

from orchestration.settings import Settings


def settings_for(base: Path) -> Settings:
    """Settings whose raw/, warehouse, quarantine, dbt target and lake all live under `base`, on DuckDB
    whatever SOZIALMONITOR_ENGINE says (the Spark tests ask for Spark themselves)."""
    return replace(Settings.from_env(), engine="duckdb").with_paths(
        raw_dir=base / "raw",
        warehouse_path=base / "warehouse" / "sozialmonitor.duckdb",
        quarantine_dir=base / "quarantine",
        dbt_target_dir=base / "dbt_target",
        releases_dir=base / "releases",
        lake_dir=base / "lake",
    )


def own_kreis_vars(folder: Path, owner: str) -> Path:
    """`folder`/vars.yml: the vars of a deployment with a level `kreis` above its Gemeinde and the
    Sozialräume public, marked as `owner`'s in this process, so that its generated files (their
    folder is named by the vars file's bytes) are read by no other test's dbt while `owner` changes
    them. Remove them with `remove_deployment_files`."""
    import os

    import yaml

    levels = ["stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis"]
    path = folder / "vars.yml"
    own_vars = {"nested_levels": levels, "public_levels": [*levels, "sozialraum"]}
    path.write_text(f"# {owner}, process {os.getpid()}\n" + yaml.safe_dump(own_vars), "utf-8")
    return path


def remove_deployment_files(settings: Settings) -> None:
    """The checkout's generated folder and saved parses of a deployment made by a test."""
    from orchestration.dbt_runner import saved_parses

    shutil.rmtree(settings.generated_dir, ignore_errors=True)
    for parse in saved_parses(settings):
        if parse.parent.parent.name == "parse":  # the checkout's dbt_project/target/parse/<folder>-…
            shutil.rmtree(parse.parent, ignore_errors=True)


def warehouse_frame(settings: Settings, sql: str, params=()):
    """The result of `sql` on the settings' warehouse (a DataFrame), opened read-only for this
    query alone."""
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def published_gates(settings: Settings):
    """The gates' report the latest release of `settings` published (its quality/gates.json, as
    redacted). For a test of a refusal that is not the gates' own, on a copy of a released city
    whose marts it left as they were: publish() takes the report instead of running the gates
    again (a process of about 8 s of CPU on the test city). The gates beside the release are tested
    on their own: a blocking gate stops it (tests/release/test_releases.py,
    test_a_failing_blocking_gate_stops_the_release), it is reported before a step's error
    (tests/release/test_release_steps.py, test_a_blocking_gate_is_reported_before_the_error_of_a_step_beside_it),
    and a refusal with them running lets go of the warehouse (test_releases.py,
    test_what_is_no_reviewed_dbt_model_never_leaves_the_warehouse)."""
    import json

    from data_quality.gates import GateReport
    from orchestration.release import find_release

    release = find_release(settings.releases_dir, "latest")
    return GateReport.from_dict(json.loads((release.path / "quality" / "gates.json").read_text(encoding="utf-8")))


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def tree_digest(root: Path) -> str:
    """One checksum over every file (path and bytes) and symlink under `root`: equal = untouched."""
    import hashlib

    digest = hashlib.sha256()
    if not root.exists():
        return "absent"
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            digest.update(f"link {rel} -> {path.readlink()}\n".encode())
        elif path.is_file():
            digest.update(f"file {rel} ".encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def json_keys(node):
    """Every key of a JSON tree (dicts inside lists included)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from json_keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from json_keys(value)


def read_parquet(path: Path):
    """A Parquet file as a DataFrame, read through DuckDB (as an analyst would read a release)."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute("select * from read_parquet(?)", [str(path)]).df()
    finally:
        con.close()


def accept_as_demo(raw_dir: Path, *paths: Path) -> None:
    """Declare changed files of a demo city as the generator's own (the published demo key refuses
    any other file): for tests that stand for a corrected delivery of the demo city."""
    import hashlib

    from orchestration.pseudonyms import DEMO_MARKER

    marker = raw_dir / DEMO_MARKER
    lines = marker.read_text(encoding="utf-8").splitlines()
    names = {p.relative_to(raw_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    kept = [line for line in lines if line.partition("  ")[2] not in names]
    marker.write_text("\n".join(kept + [f"{d}  {n}" for n, d in names.items()]) + "\n", encoding="utf-8")


def partition_files_but(table_folder: Path, stichtag: date) -> dict[str, int]:
    """The Parquet files of a Spark table partitioned by Stichtag, but those of `stichtag`: path
    (below the table's folder) → inode, to show that a build left the other partitions' files as
    they were."""
    return {
        str(f.relative_to(table_folder)): f.stat().st_ino
        for f in table_folder.glob("stichtag=*/*.parquet")
        if f.parent.name != f"stichtag={stichtag.isoformat()}"
    }


def earlier_load_log(warehouse: Path, rows: Sequence[tuple] = (), gemeinde: bool = False) -> None:
    """A warehouse file whose load log `raw._load_log` is an earlier version's: no load numbers, and
    with `gemeinde` the column of deliveries per Gemeinde (added before the numbers). `rows`: its
    loads, in the columns source, stichtag, file, sha256, rows, footer_rows, loaded_at, seconds
    (and gemeinde)."""
    import duckdb

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists raw")
        con.execute(
            "create table raw._load_log (source varchar, stichtag date, file varchar, sha256 varchar, rows bigint,"
            f" footer_rows bigint, loaded_at timestamp, seconds double{', gemeinde varchar' if gemeinde else ''})"
        )
        for row in rows:
            con.execute(f"insert into raw._load_log values ({', '.join('?' * len(row))})", list(row))
    finally:
        con.close()


@contextmanager
def recording_proxy() -> Iterator[tuple[dict[str, str], list[str]]]:
    """A proxy on this machine that answers nothing and records the first line of each request
    made to it (`CONNECT pypi.org:443 HTTP/1.1`). Yields the environment that points Python's HTTP
    clients at it (requests, urllib and httpx read these variables; this machine's own addresses
    stay direct) and the list of what it got: a process run with that environment whose HTTP client
    goes out to the network shows up in the list, and reaches nothing (a client that ignores these
    variables, a raw socket, is not seen)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    seen: list[str] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError as exc:  # the listening socket broke: told, not a silent end of the records
                seen.append(f"the proxy stopped listening: {exc}")
                return
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(512)
                except OSError:
                    first = b""
                # recorded before the connection closes: the client may end as soon as it is closed
                seen.append(first.split(b"\r\n", 1)[0].decode("latin-1") or "a connection that sent nothing")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    environment = {name: url for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
    environment |= {name.lower(): url for name in environment}
    environment |= {"NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost,127.0.0.1"}
    try:
        yield environment, seen
    finally:
        done.set()
        thread.join()
        server.close()
