"""A Kreis and its Städte end to end: the Musterkreis (four Städte of different structure, per-Stadt
and Kreis-wide deliveries) generated, ingested, built, gated and released once in one warehouse
(SOZIALMONITOR_DEPLOYMENT_DIR, as docs/kreis.md tells a Kreis to run it); then its indicators per
Gemeinde and for the Kreis recomputed from the generator's microdata, its levels per Gemeinde, its
two status/dynamics indices against the method run on the union and per Stadt, and what a late or
broken delivery of one Stadt does."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from orchestration.demo import KreisConfig, generate_kreis, simulate_kreis
from orchestration.indices.mss import MssConfig, compute_mss
from orchestration.ingest.contracts import AREAS_SOURCE
from orchestration.ingest.loader import IngestFailed
from orchestration.pipeline import run_ingest, run_pipeline
from orchestration.settings import Settings
from tests.disclosure.attacker import attack
from tests.disclosure.test_independent_attacker import assert_no_leak, assert_sound, true_counts
from tests.helpers import accept_as_demo, warehouse_frame
from tests.indicators.test_recompute_from_microdata import by_hand

KREIS = KreisConfig.small()
LINDENSTADT, BERGHEIDE, TALHAUSEN, WIESENAU = (s.ags for s in KREIS.staedte)
KREIS_CODE = "05999"
STICHTAGE = [date(2020, 12, 31), date(2024, 12, 31)]
INDEX = "soziale_stadtentwicklung"


@pytest.fixture(scope="module")
def kreis(tmp_path_factory):
    """The Musterkreis's folder, run once as a Kreis runs it: its Settings (module-wide, in the
    environment of this process, so that the gates read the Kreis's gates.yml)."""
    folder = tmp_path_factory.mktemp("musterkreis")
    generate_kreis(folder, KREIS)
    with pytest.MonkeyPatch.context() as env:
        for name in ("RAW_DIR", "WAREHOUSE", "CONTRACTS_DIR", "VARS_FILE", "GATES_CONFIG", "RELEASES_DIR",
                     "QUARANTINE_DIR", "DBT_TARGET_DIR"):  # fmt: skip
            env.delenv(f"SOZIALMONITOR_{name}", raising=False)
        env.setenv("SOZIALMONITOR_DEPLOYMENT_DIR", str(folder))
        settings = Settings.from_env()  # the checkout's dbt project: the Kreis's generated files are its own
        summary = run_pipeline(settings)
        assert summary.release is not None, "the Musterkreis was not released"
        yield settings


@pytest.fixture(scope="module")
def kreis_truth():
    return simulate_kreis(KREIS)


def test_the_kreis_has_its_levels_per_gemeinde(kreis):
    """Baublock → … → Gemeinde → Kreis: one Kreis, four Gemeinden under it; Bergheide without
    Stadtviertel, Wiesenau without Stadtbezirke (its Gemeindeteile under the Gemeinde); the
    Sozialräume county-wide, one of them across a Gemeinde border. What is published says the same."""
    areas = warehouse_frame(kreis, "select level, area_id, area_name, parent_id, parent_level from marts.dim_area")
    assert areas[areas.level == "kreis"].area_id.tolist() == [KREIS_CODE]
    gemeinden = areas[areas.level == "gemeinde"]
    assert sorted(gemeinden.area_id) == sorted(s.ags for s in KREIS.staedte)
    assert set(gemeinden.parent_id) == {KREIS_CODE} and set(gemeinden.parent_level) == {"kreis"}
    viertel = warehouse_frame(
        kreis,
        """select distinct m.area_id as viertel, g.area_id as gemeinde
           from marts.dim_block_membership as m
           inner join marts.dim_block_membership as g on g.block_id = m.block_id and g.level = 'gemeinde'
           where m.level = 'stadtviertel'""",
    )
    assert BERGHEIDE not in set(viertel.gemeinde) and {LINDENSTADT, TALHAUSEN, WIESENAU} <= set(viertel.gemeinde)
    wiesenau_teile = areas[(areas.level == "stadtteil") & areas.area_id.str.startswith(WIESENAU[5:])]
    assert len(wiesenau_teile) >= 2 and set(wiesenau_teile.parent_level) == {"gemeinde"}
    assert set(wiesenau_teile.parent_id) == {WIESENAU}
    crossing = warehouse_frame(
        kreis,
        """select m.area_id, count(distinct g.area_id) as gemeinden
           from marts.dim_block_membership as m
           inner join marts.dim_block_membership as g on g.block_id = m.block_id and g.level = 'gemeinde'
           where m.level = 'sozialraum' group by m.area_id having count(distinct g.area_id) > 1""",
    )
    assert len(crossing) == 1
    # the hierarchy gate checks every link Baublock → … → Gemeinde → Kreis, the skipped ones too
    # (Bergheide's Baublöcke in Stadtteile, Wiesenau's Gemeindeteile in the Gemeinde), all adding up
    links = warehouse_frame(
        kreis,
        """select parent_level, child_level, max(abs(difference)) as worst
           from gates.gate_hierarchy group by all""",
    )
    found = {(r.parent_level, r.child_level): r.worst for r in links.itertuples()}
    for link in [("stadtviertel", "baublock"), ("stadtteil", "baublock"), ("stadtteil", "stadtviertel"),
                 ("stadtbezirk", "stadtteil"), ("gemeinde", "stadtbezirk"), ("gemeinde", "stadtteil"),
                 ("kreis", "gemeinde")]:  # fmt: skip
        assert link in found, link
        assert found[link] < 1e-3, link
    # the analysts' wide views: one per level of the Kreis (its own included), and the Kreis's
    # holds what the long table holds, one row per Stichtag
    views = warehouse_frame(
        kreis,
        """select table_name from information_schema.tables
           where table_schema = 'marts' and table_name like 'indicators%'""",
    )
    levels = ("baublock", "stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis", "sozialraum")
    assert set(views.table_name) == {f"indicators_{level}" for level in levels}
    wide = warehouse_frame(
        kreis, "select area_id, stichtag, residents, sgb2_quote from marts.indicators_kreis order by stichtag"
    )
    long = warehouse_frame(
        kreis,
        """select area_id, stichtag,
               max(value) filter (where indicator_id = 'residents') as residents,
               max(value) filter (where indicator_id = 'sgb2_quote') as sgb2_quote
           from marts.fct_indicator_values where level = 'kreis' group by all order by stichtag""",
    )
    assert set(wide.area_id) == {KREIS_CODE} and wide.stichtag.is_unique and len(wide) >= len(STICHTAGE)
    pd.testing.assert_frame_equal(wide, long)
    release = kreis.releases_dir / "latest"
    published = duckdb.connect(str(release / "sozialmonitor.duckdb"), read_only=True)
    try:
        levels = dict(published.execute("select level, count(*) from areas group by level").fetchall())
        assert levels["kreis"] == 1 and levels["gemeinde"] == 4
        stadtviertel = published.execute(
            "select count(*) from indicator_values where level = 'stadtviertel' and area_id like ?",
            [BERGHEIDE[5:] + "%"],
        ).fetchone()[0]
        assert stadtviertel == 0  # Bergheide has none: no rows pretending to be data
        kreis_rows = published.execute(
            "select count(*) from indicator_values where level = 'kreis' and value is not null"
        ).fetchone()[0]
        assert kreis_rows > 30
    finally:
        published.close()


CHECKED = [
    "residents", "share_foreign", "share_under_18", "sgb2_quote", "sozialgeld_quote", "sgb12_hlu_per_1000",
    "wohngeld_per_100_households", "births_per_1000", "city_moves_in_per_1000",
]  # fmt: skip


def test_indicators_per_gemeinde_and_kreis_agree_with_the_microdata(kreis, kreis_truth):
    """Per-Stadt sources (register, movements, Wohngeld) and Kreis-wide ones (Jobcenter, Sozialamt)
    give, per Gemeinde, for the Kreis and for units of Städte that skip a level, what the
    generator's microdata say: every address found in its own Gemeinde, none in another's."""
    combined = SimpleNamespace(
        **{name: kreis_truth.combined(name) for name in ("persons", "sgb2", "sgb12", "wohngeld", "movements")},
        blocks=kreis_truth.blocks,
    )
    blocks = kreis_truth.blocks
    units = {("kreis", KREIS_CODE): set(blocks.block_code)}
    for ags in (s.ags for s in KREIS.staedte):
        units[("gemeinde", ags)] = set(blocks.loc[blocks.gemeinde == ags, "block_code"])
    for ags in (BERGHEIDE, WIESENAU):  # Stadtteile straight above the Baublock; under the Gemeinde
        first = sorted(blocks.loc[blocks.gemeinde == ags, "stadtteil_code"])[0]
        units[("stadtteil", first)] = set(blocks.loc[blocks.stadtteil_code == first, "block_code"])
    across = blocks.groupby("sozialraum_code").gemeinde.nunique().loc[lambda n: n > 1].index[0]
    units[("sozialraum", across)] = set(blocks.loc[blocks.sozialraum_code == across, "block_code"])
    values = warehouse_frame(
        kreis,
        f"""select indicator_id, level, area_id, stichtag, value from marts.fct_indicator_values
            where indicator_id in ({", ".join("'" + i + "'" for i in CHECKED)})""",
    ).set_index(["indicator_id", "level", "area_id", "stichtag"])["value"]
    checked = 0
    for (level, area), members in units.items():
        for stichtag in STICHTAGE:
            for indicator in CHECKED:
                expected = by_hand(combined, indicator, level, area, stichtag, blocks=members)
                actual = values.get((indicator, level, area, pd.Timestamp(stichtag)))
                assert actual is not None, (indicator, level, area, stichtag)
                if expected is None:
                    assert pd.isna(actual), (indicator, level, area, stichtag)
                else:
                    assert actual == pytest.approx(expected, rel=1e-9, abs=1e-4), (indicator, level, area, stichtag)
                checked += 1
    assert checked == len(units) * len(STICHTAGE) * len(CHECKED)


def _index_inputs(kreis: Settings, day: date) -> pd.DataFrame:
    """The status indicators of the index per Stadtviertel at `day` (today's Gebietsstand), wide."""
    long = warehouse_frame(
        kreis,
        """select v.area_id, v.indicator_id, v.value from marts.fct_indicator_values_current as v
           where v.level = 'stadtviertel' and v.stichtag = ?
             and v.indicator_id in ('residents', 'unemployed_per_100', 'long_term_unemployed_per_100',
                                    'sgb2_quote', 'sozialgeld_quote')""",
        [day],
    )
    return long.pivot(index="area_id", columns="indicator_id", values="value").reset_index()


def test_the_bench_floor_equals_the_kreis_marts(kreis):
    """`make bench` measures a Kreis of many Gemeinden against the same floor as a city
    (orchestration/benchmark/floor.sql): addresses matched within their Gemeinde, each Baublock's
    units walked up from its lowest one (a Stadtteil where the Stadt has no Stadtviertel) through
    Gemeindeteile and Gemeinden to the Kreis."""
    from tests.orchestration.test_bench_floor import FLOOR_INDICATORS, floor_against_marts

    levels, result = floor_against_marts(kreis.warehouse_path)
    assert set(levels) == {"baublock", "stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis", "sozialraum"}
    assert levels["gemeinde"] == 6 * len(KREIS.staedte) and levels["kreis"] == 6
    assert result == {"values_compared": sum(levels.values()) * FLOOR_INDICATORS, "values_differing": 0}


def test_the_kreis_release_withstands_the_independent_attacker(kreis):
    """The Kreis's tables are protected Gemeinde by Gemeinde (orchestration/disclosure/linked.py:
    regions), a Sozialraum across a Gemeinde border and the Kreis totals with the whole table: the
    attacker, who knows nothing of that and attacks every level of the release at once, narrows no
    withheld count below the protection width, and the truth lies in every interval it derives."""
    release = kreis.releases_dir / "latest"
    result = attack(release)
    assert_no_leak(result)
    assert not [n for n in result.notes if "infeasible" in n], result.notes
    levels = set(result.cells["level"])
    assert {"kreis", "gemeinde", "stadtviertel", "sozialraum"} <= levels, levels
    assert_sound(result, true_counts(kreis.warehouse_path, release))


def test_the_index_county_wide_and_within_each_stadt(kreis):
    """The county-wide index is the method run on all Städte's Stadtviertel together; the index
    within each Stadt is the method run on that Stadt's Stadtviertel alone (sozialmonitor index mss
    computes the same: compute_mss)."""
    day = date(2024, 12, 31)
    frame = _index_inputs(kreis, day)
    status = ["unemployed_per_100", "long_term_unemployed_per_100", "sgb2_quote", "sozialgeld_quote"]
    config = MssConfig.from_mapping({"status": status, "min_population": 300})
    results = warehouse_frame(
        kreis,
        """select index_id, area_id, indexed, reason, status_z, status_class from marts.fct_index_status_dynamics
           where level = 'stadtviertel' and stichtag = ? and index_id like ?""",
        [day, INDEX + "%"],
    )
    ids = sorted(results.index_id.unique())
    assert ids == [INDEX, f"{INDEX}__innerhalb_gemeinde"]

    def same(expected: pd.DataFrame, index_id: str) -> None:
        got = results[results.index_id == index_id].set_index("area_id").loc[expected["id"]]
        assert got.indexed.tolist() == expected.indexed.tolist()
        assert got.status_class.fillna("").tolist() == expected.status_class.tolist()
        pd.testing.assert_series_equal(
            got.status_z.reset_index(drop=True), expected.status_z.round(6).reset_index(drop=True), check_names=False
        )

    same(compute_mss(frame, config, id_column="area_id", population_column="residents"), INDEX)
    gemeinde = warehouse_frame(
        kreis,
        """select distinct m.area_id, g.area_id as gemeinde from marts.dim_block_membership as m
           inner join marts.dim_block_membership as g on g.block_id = m.block_id and g.level = 'gemeinde'
           where m.level = 'stadtviertel' and m.valid_to is null and g.valid_to is null""",
    ).set_index("area_id")["gemeinde"]
    compared = set()
    for ags, part in frame.groupby(frame.area_id.map(gemeinde)):
        expected = compute_mss(part.reset_index(drop=True), config, id_column="area_id", population_column="residents")
        same(expected, f"{INDEX}__innerhalb_gemeinde")
        compared.add(ags)
    assert compared == {LINDENSTADT, TALHAUSEN, WIESENAU}  # each Stadt with Stadtviertel, within itself


def test_a_broken_file_of_one_stadt_is_refused_naming_it(kreis, tmp_path):
    """A Stadt's register with a broken line: refused with file, line and column, nothing loaded;
    the Kreis's release stays as it was."""
    copy = tmp_path / "kreis"
    shutil.copytree(kreis.raw_dir.parent, copy, ignore=shutil.ignore_patterns("*.lock", "warehouse", "releases"))
    settings = kreis.with_paths(
        raw_dir=copy / "raw", warehouse_path=copy / "warehouse" / "k.duckdb", quarantine_dir=copy / "quarantine"
    )
    name = f"EWR_Bestand_{BERGHEIDE}_20241231.csv"
    path = settings.raw_dir / "einwohner" / name
    # Bergheide's software writes UTF-8 with commas and LF (its variant register_persons@05999008.yml)
    lines = path.read_bytes().split(b"\n")
    fields = lines[5].split(b",")
    fields[1] = b"19x1"  # Geburtsjahr
    lines[5] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(IngestFailed) as exc:
        run_ingest(settings)
    (rejected,) = exc.value.report.rejected
    (problem, *_) = rejected.violations
    assert rejected.extract.gemeinde == BERGHEIDE
    assert f"einwohner/{name}, line 6, column 'Geburtsjahr'" in str(problem)
    assert f"For the Kreis: the files of Gemeinde {BERGHEIDE} above are missing, so no Kreis release" in str(exc.value)
    assert rejected.extract.contract.location.endswith("register_persons@05999008.yml")  # read as Bergheide writes it
    assert (kreis.releases_dir / "latest").resolve().name == "v1"


def test_a_stadt_whose_register_is_late_blocks_the_kreis_release(kreis, tmp_path):
    """Without Bergheide's register of the newest Stichtag the Kreis totals would be wrong: the
    deliveries gate blocks, naming the Stadt, the source and the Stichtag."""
    from data_quality import run_gates

    warehouse = tmp_path / kreis.warehouse_path.name  # the gates' views name the warehouse's catalog
    shutil.copy(kreis.warehouse_path, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "delete from raw._load_log where source = 'register_persons' and gemeinde = ? and stichtag = '2024-12-31'",
            [BERGHEIDE],
        )
        report = run_gates(con, suites=["deliveries"])
    finally:
        con.close()
    (result,) = report.for_suite("deliveries")
    assert result.outcome == "blocked"
    (example,) = result.examples
    assert example["gemeinde"] == BERGHEIDE and example["gemeinde_name"] == "Bergheide"
    assert example["source"] == "register_persons" and str(example["stichtag"]).startswith("2024-12-31")


def test_the_kreis_folder_is_what_the_readme_runs(kreis):
    """The deployment folder holds its own contracts, vars and gates, as `demo-data --kreis` writes it."""
    folder: Path = kreis.raw_dir.parent
    assert kreis.contracts_dir == folder / "contracts" and kreis.vars_file == folder / "vars.yml"
    assert kreis.gates_config == folder / "gates.yml"
    assert kreis.project_vars.levels[-2:] == ["kreis", "sozialraum"]


def test_a_stadt_gets_its_own_figures_and_nothing_of_another(kreis, tmp_path):
    """`sozialmonitor release gemeinde`: Bergheide's staff get the internal values of Bergheide's
    own units (every Baublock in Bergheide), never the Kreis, a Sozialraum across the border or a
    Baublock; the same rows as the warehouse, twice the same; an unknown Gemeinde is refused."""
    from orchestration.release.gemeinde_export import GemeindeExportRefused, export_gemeinde

    result = export_gemeinde(kreis, BERGHEIDE, tmp_path / "bergheide.duckdb")
    assert result.name == "Bergheide" and (result.path.stat().st_mode & 0o777) == 0o600
    exported = duckdb.connect(str(result.path), read_only=True)
    try:
        units = exported.execute("select distinct level, area_id from areas").fetchall()
        values = exported.execute("select * from indicator_values order by all").fetchall()
        indices = {r[0] for r in exported.execute("select distinct index_id from index_status_dynamics").fetchall()}
    finally:
        exported.close()
    blocks = warehouse_frame(
        kreis,
        """select m.level, m.area_id, bool_and(g.area_id = ?) as inside
           from marts.dim_block_membership as m
           inner join marts.dim_block_membership as g on g.block_id = m.block_id and g.level = 'gemeinde'
           group by all""",
        [BERGHEIDE],
    )
    inside = {(r.level, r.area_id) for r in blocks.itertuples() if r.inside and r.level != "baublock"}
    assert set(units) == inside - {("kreis", KREIS_CODE)}  # Bergheide's own units at the published levels
    assert {level for level, _ in units} == {"gemeinde", "stadtbezirk", "stadtteil", "sozialraum"}
    assert ("gemeinde", BERGHEIDE) in units and not any(level == "kreis" for level, _ in units)
    warehouse = warehouse_frame(kreis, "select * from marts.fct_indicator_values order by all")
    own = warehouse[[(lv, a) in set(units) for lv, a in zip(warehouse.level, warehouse.area_id, strict=True)]]
    assert len(values) == len(own) > 1000
    assert indices == {INDEX, f"{INDEX}__innerhalb_gemeinde"}
    again = export_gemeinde(kreis, BERGHEIDE, tmp_path / "bergheide.duckdb", force=True)
    assert again.rows == result.rows
    with pytest.raises(GemeindeExportRefused, match="'05999099' is no Gemeinde"):
        export_gemeinde(kreis, "05999099", tmp_path / "x.duckdb")
    with pytest.raises(GemeindeExportRefused, match="exists"):
        export_gemeinde(kreis, BERGHEIDE, tmp_path / "bergheide.duckdb")


def test_in_dagster_a_late_delivery_of_one_stadt_loads_only_its_files_then_builds_the_kreis(
    kreis, tmp_path, monkeypatch
):
    """Dagster's partitions Stichtag × Gemeinde: Bergheide's corrected register of the newest
    Stichtag starts one run of `delivery_job` for (2024-12-31, Bergheide), which loads that file and
    no other Stadt's; once it succeeded, `kreis_after_delivery` starts `warehouse_job` for the
    Stichtag, which builds that Stichtag alone (incremental) for the whole Kreis and gates it."""
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.defs.partitions import DELIVERY_PARTITIONS, STICHTAG_PARTITIONS, delivery_key
    from orchestration.defs.sensors import evaluate_raw_dir, kreis_level_request

    copy = tmp_path / "kreis"
    shutil.copytree(kreis.raw_dir.parent, copy, ignore=shutil.ignore_patterns("*.lock", "releases"))
    settings = kreis.with_paths(
        raw_dir=copy / "raw",
        warehouse_path=copy / "warehouse" / kreis.warehouse_path.name,
        quarantine_dir=copy / "quarantine",
        releases_dir=copy / "releases",  # none yet: the corrected Stichtag is not published
        dbt_target_dir=copy / "dbt_target",
    )
    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    defs = build_definitions(settings, publish=False)
    graph = defs.resolve_asset_graph()
    # the Kreis's own job runs its steps in the run's process, as every job does (definitions.py)
    assert defs.resolve_job_def("delivery_job").executor_def is dg.in_process_executor
    assert graph.get(dg.AssetKey(["raw", "register_persons"])).partitions_def == DELIVERY_PARTITIONS
    assert graph.get(dg.AssetKey(["raw", "jobcenter_sgb2"])).partitions_def == STICHTAG_PARTITIONS  # Kreis-wide
    assert graph.get(dg.AssetKey(["raw", "geo_addresses"])).partitions_def is None  # reference data
    # a Stadt's register is checked against the Gebietsgliederung (its Gemeinde in the file name)
    # while it loads, so the CLI's ingest loads that first: a Dagster run with both does too
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["raw", "register_persons"])).parent_keys}
    assert parents == {f"raw/{AREAS_SOURCE}"}, parents
    assert defs.resolve_sensor_def("kreis_after_delivery") is not None

    # the raw/ sensor: every Stadt of every Stichtag becomes a partition; then one corrected file
    _, partitions, cursor = evaluate_raw_dir(settings, None, set())
    assert partitions["gemeinde"] == sorted(s.ags for s in KREIS.staedte)
    name = f"EWR_Bestand_{BERGHEIDE}_20241231.csv"
    path = settings.raw_dir / "einwohner" / name
    lines = path.read_bytes().split(b"\n")
    fields = lines[5].split(b",")
    fields[1] = str(int(fields[1]) - 1).encode()  # the Stadt corrects a Geburtsjahr
    lines[5] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    accept_as_demo(settings.raw_dir, path)  # the corrected file stands for the generator's own
    (request,) = evaluate_raw_dir(settings, cursor, set(partitions["stichtag"]), set(partitions["gemeinde"]))[0]
    assert request.job_name == "delivery_job" and request.partition_key == delivery_key("2024-12-31", BERGHEIDE)
    assert request.tags["sozialmonitor/files"] == f"einwohner/{name}"
    assert request.asset_selection == [dg.AssetKey(["raw", "register_persons"])]  # not the Stadt's other sources

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("stichtag", partitions["stichtag"])
    instance.add_dynamic_partitions("gemeinde", partitions["gemeinde"])
    log_before = warehouse_frame(settings, "select * from raw._load_log order by all")
    delivered = defs.resolve_job_def("delivery_job").execute_in_process(
        partition_key=request.partition_key,
        instance=instance,
        tags=request.tags,
        asset_selection=request.asset_selection,
    )
    assert delivered.success
    assert [(e.asset_key.to_user_string(), e.partition) for e in delivered.get_asset_materialization_events()] == [
        ("raw/register_persons", f"{BERGHEIDE}|2024-12-31")
    ]
    log_after = warehouse_frame(settings, "select * from raw._load_log order by all")
    new = log_after.merge(log_before, how="left", indicator=True).query("_merge == 'left_only'")
    assert [(r.source, r.gemeinde, str(r.stichtag)[:10]) for r in new.itertuples()] == [
        ("register_persons", BERGHEIDE, "2024-12-31")
    ]  # that file and nothing else, of no other Stadt

    # then the Kreis: the Stichtag of the delivery, built alone
    follow = kreis_level_request(instance.get_run_by_id(delivered.run_id), instance)
    assert follow.job_name == "warehouse_job" and follow.partition_key == "2024-12-31"
    warehouse_job = defs.resolve_job_def("warehouse_job")
    # a second delivery run of that Stichtag while the Kreis's run still waits: no second Kreis run
    waiting = instance.create_run_for_job(
        warehouse_job, tags={"dagster/partition": "2024-12-31"}, status=dg.DagsterRunStatus.NOT_STARTED
    )
    skipped = kreis_level_request(instance.get_run_by_id(delivered.run_id), instance)
    assert isinstance(skipped, dg.SkipReason) and waiting.run_id in skipped.skip_message
    instance.delete_run(waiting.run_id)
    built = warehouse_job.execute_in_process(partition_key=follow.partition_key, instance=instance, tags=follow.tags)
    assert built.success
    materialized = {e.asset_key.to_user_string() for e in built.get_asset_materialization_events()}
    assert "marts/fct_indicator_values" in materialized and "raw/register_persons" not in materialized
    (mode, stichtage, reasons), *_ = warehouse_frame(
        settings, "select mode, stichtage, reasons from ops.dbt_builds order by started_at desc"
    ).itertuples(index=False)
    assert (mode, stichtage) == ("incremental", "2024-12-31"), reasons
    assert f"register_persons@{BERGHEIDE} corrected" in reasons
    gates = {c.check_name: c.passed for c in built.get_asset_check_evaluations()}
    assert gates["deliveries"] and gates["record_counts"]


def test_the_atlas_the_report_and_the_tables_show_the_kreis_with_its_staedte(kreis):
    """The Kreis's release speaks of the Kreis: the atlas (in chromium) maps its four Gemeinden with
    the Kreis as the reference value, and names each Stadtteil with its Stadt (two Städte have an
    Altstadt); the Datenreport (its PDF's text) compares the Gemeinden for every indicator it shows,
    with the published values, and a Stadtteil's profile sets it beside its Stadt and the Kreis; the
    German tables name each Stadtteil's Gemeinde in a column."""
    import csv
    import io

    from openpyxl import load_workbook

    from orchestration.release.report import pdf_text
    from tests.release.atlas_browser import Watched, chromium, de
    from tests.release.test_report import de as cell_de

    release = (kreis.releases_dir / "latest").resolve()
    data = release / "data"
    con = duckdb.connect()
    try:
        values = con.execute(
            f"""select v.level, v.area_id, a.area_name, v.indicator_id, strftime(v.stichtag, '%Y-%m-%d') as day,
                       v.value, v.unit, coalesce(v.flags, '') as flags, v.is_suppressed, v.suppression_reason
                from read_parquet('{data / "indicator_values.parquet"}') as v
                inner join (select distinct level, area_id, area_name from read_parquet('{data / "areas.parquet"}'))
                    as a using (level, area_id)
                where v.level in ('gemeinde', 'kreis', 'stadtteil')"""
        ).df()
    finally:
        con.close()
    newest = values[values.day == "2024-12-31"]
    sgb2 = newest[newest.indicator_id == "sgb2_quote"].set_index(["level", "area_id"])
    altstadt = newest[(newest.level == "stadtteil") & (newest.area_name == "Altstadt")].area_id.unique()
    assert len(altstadt) == 2  # the names collide: the atlas must say whose

    with chromium() as browser:
        atlas = Watched(browser, [release.as_uri() + "/"])
        try:
            url = (release / "atlas" / "index.html").as_uri()
            atlas.open(url + "#ebene=gemeinde&kennzahl=sgb2_quote&stichtag=2024-12-31")
            page = atlas.page
            assert page.locator("#karte path").count() == len(KREIS.staedte)
            kreis_value = sgb2.loc[("kreis", KREIS_CODE), "value"]
            assert f"insgesamt: {de(kreis_value, 1)}\u00a0%" in page.inner_text("#stadtwert")
            page.hover(f'#karte path[data-id="{BERGHEIDE}"]')
            tip = page.inner_text("#tooltip")
            assert "Bergheide" in tip and f"{de(sgb2.loc[('gemeinde', BERGHEIDE), 'value'], 1)}\u00a0%" in tip, tip
            page.select_option("#ebene", "stadtteil")
            names = set()
            for area_id in altstadt:
                page.hover(f'#karte path[data-id="{area_id}"]')
                names.add(page.inner_text("#tooltip").splitlines()[0].rsplit(" (", 1)[0])  # without "(<id>)"
            assert names == {"Altstadt (Lindenstadt)", "Altstadt (Bergheide)"}, names
        finally:
            atlas.close()
        assert atlas.outside == [] and atlas.errors == [], (atlas.outside, atlas.errors)

    def as_printed(cell: dict) -> str:  # a published cell as the German tables and the report print it
        return cell_de(*(cell[c] for c in ("value", "unit", "flags", "is_suppressed", "suppression_reason")))

    document = json.loads((release / "bericht" / "daten.json").read_text(encoding="utf-8"))
    shown = [k for topic in document["themen"] for k in topic["kennzahlen"]]
    compared = [k for k in shown if k["vergleich"]]
    at_gemeinde = set(newest[newest.level == "gemeinde"].indicator_id)
    assert compared and len(compared) == sum(k["id"] in at_gemeinde for k in shown)
    text = "\n".join(pdf_text(release / "bericht" / "datenreport.pdf"))
    assert "für den Kreis insgesamt" in " ".join(text.split())
    assert text.count("im Vergleich der Gemeinden") == len(compared)
    for k in compared:
        assert k["vergleich"]["ebene"] == "gemeinde"
        printed = {row[0]: row[2] for row in k["vergleich"]["zeilen"]}  # name → value at the newest Stichtag
        for ags, name in ((s.ags, s.name) for s in KREIS.staedte):
            gemeinde = newest[(newest.level == "gemeinde") & (newest.area_id == ags)]
            cell = gemeinde[gemeinde.indicator_id == k["id"]].iloc[0].to_dict()
            expected = as_printed(cell)
            assert printed[name] == expected, (k["id"], name)
            assert any(line.startswith(f"{name} ") and expected in line for line in text.splitlines()), (k["id"], name)

    # a Stadtteil's Gebietsprofil: the area, its own Stadt and the Kreis side by side
    profile = next(p for p in document["profile"] if p["ebene"] == "stadtteil" and p["id"].startswith(BERGHEIDE[5:]))
    assert profile["stadt"] == "Bergheide"
    for k in profile["kennzahlen"]:
        gemeinde = newest[(newest.level == "gemeinde") & (newest.area_id == BERGHEIDE)]
        cell = gemeinde[gemeinde.indicator_id == k["id"]].iloc[0].to_dict()
        assert k["stadt"] == as_printed(cell)
    page = pdf_text(release / "bericht" / profile["datei"])[0]
    assert "Kennzahl Gebiet Bergheide Kreis" in page
    assert all(p.get("stadt") is None for p in document["profile"] if p["ebene"] == "sozialraum")

    # the German tables: a column Gemeinde below the Gemeinde level, none at it
    def csv_rows(level: str) -> list[dict[str, str]]:
        blob = (release / "tabellen" / f"{level}.csv").read_bytes().decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(blob, newline=""), delimiter=";"))

    whose = {r["Gebiets-Nr."]: r["Gemeinde"] for r in csv_rows("stadtteil") if r["Gebietsname"] == "Altstadt"}
    # the generator's Stadtteil codes begin with the Gemeinde's last three AGS digits
    assert whose == {a: "Lindenstadt" if a.startswith(LINDENSTADT[5:]) else "Bergheide" for a in altstadt}
    assert sorted(whose.values()) == ["Bergheide", "Lindenstadt"]
    assert "Gemeinde" not in csv_rows("gemeinde")[0]
    sheet = load_workbook(release / "tabellen" / "stadtteil.xlsx").worksheets[0]
    header = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "Gebiets-Nr.")
    assert header[:3] == ("Gebiets-Nr.", "Gebietsname", "Gemeinde")
    listed = {r[0]: r[2] for r in sheet.iter_rows(values_only=True) if r[0] in whose}
    assert listed == whose
    indices = load_workbook(release / "tabellen" / "stadtviertel.xlsx")["Indizes"]
    header = next(r for r in indices.iter_rows(values_only=True) if r[0] == "Index")
    assert header[1:4] == ("Gebiets-Nr.", "Gebietsname", "Gemeinde")
    rows = [r for r in indices.iter_rows(values_only=True) if r[0] == INDEX]
    assert rows and {r[3] for r in rows} == {s.name for s in KREIS.staedte if s.ags != BERGHEIDE}  # no Viertel there
