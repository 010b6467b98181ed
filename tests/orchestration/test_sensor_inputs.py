"""The raw/ sensor with hostile file names (issue 15) and its default (issue 16: off until an
operator turns it on). Fast: hand-made files, no city."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.sensors import build_schedule, build_sensor, evaluate_raw_dir
from tests.helpers import settings_for
from tests.ingest.test_hostile_inputs import register


def test_refused_file_names_never_become_partitions_but_start_a_run_that_reports_them(tmp_path):
    settings = settings_for(tmp_path)
    folder = settings.raw_dir / "einwohner"
    folder.mkdir(parents=True)
    (folder / "EWR_Bestand_20211231.csv").write_bytes(register())
    (folder / "EWR_Bestand_20301231.csv").write_bytes(register())  # in the future
    (folder / "EWR_Bestand_20241331.csv").write_bytes(register())  # no date
    (folder / "EWR_Bestand_20221231.csv").symlink_to(tmp_path / "missing.csv")  # broken link
    requests, partitions, cursor = evaluate_raw_dir(settings, None, set())
    assert partitions == {"stichtag": ["2021-12-31"], "gemeinde": []}
    [request] = requests
    assert request.partition_key == "2021-12-31"
    files = request.tags["sozialmonitor/files"].split(",")
    assert {"einwohner/EWR_Bestand_20301231.csv", "einwohner/EWR_Bestand_20241331.csv"} <= set(files)
    assert "einwohner/EWR_Bestand_20221231.csv" in files
    assert evaluate_raw_dir(settings, cursor, set(partitions["stichtag"]))[0] == []


def test_sensor_and_schedule_are_off_until_an_operator_turns_them_on(tmp_path):
    @dg.op
    def noop():
        return None

    @dg.job
    def job():
        noop()

    assert build_sensor([job], lambda: settings_for(tmp_path)).default_status == dg.DefaultSensorStatus.STOPPED
    assert build_schedule(job).default_status == dg.DefaultScheduleStatus.STOPPED
