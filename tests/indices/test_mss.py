"""The status/dynamics index (MSS method): Berlin's published classes of 2013, 2015 and 2017
reproduced through the library and the CLI, and small hand-computed cases."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.indices.mss import (
    MssConfig,
    MssInputError,
    classify_dynamics,
    classify_status,
    compute_mss,
    read_values,
    unknown_exclusions,
    write_result,
)

BERLIN = Path(__file__).resolve().parents[1] / "data" / "berlin-mss"
YEARS = (2013, 2015, 2017)
HEADER = ["id", "indexed", "status_z", "status_class", "dynamics_z", "dynamics_class"]
runner = CliRunner()


# --------------------------------------------------------------------------------------------------
# Berlin


def _berlin(year: int):
    values = read_values(BERLIN / f"mss{year}-2-1.csv", id_column="id")
    published = read_values(BERLIN / f"mss{year}-1.csv", id_column="id")
    status = tuple(c for c in values.columns if c[0] == "s" and c[1].isdigit())
    dynamics = tuple(c for c in values.columns if c[0] == "d" and c[1].isdigit())
    assert len(status) == 4 and len(dynamics) == 4
    # Areas big enough to be indexed that Berlin did not index: its exclusion list.
    exclude = tuple(sorted(set(values.loc[values["inhabitants"] >= 300, "id"]) - set(published["id"])))
    print(f"MSS {year}: excluded {', '.join(exclude)}")
    assert 0 < len(exclude) < 15
    return values, published, status, dynamics, exclude


def _assert_published_classes(ids, status_class, dynamics_class, published: pd.DataFrame) -> None:
    ours = pd.DataFrame({"id": list(ids), "status": list(status_class), "dynamics": list(dynamics_class)})
    merged = ours.merge(published, on="id", how="outer", validate="one_to_one", indicator=True)
    assert (merged["_merge"] == "both").all()
    status_wrong = merged[merged["status"] != merged["status_index_klasse"]]
    dynamics_wrong = merged[merged["dynamics"] != merged["dynamik_index_klasse"]]
    assert status_wrong.empty, status_wrong[["id", "status", "status_index_klasse"]].to_string()
    assert dynamics_wrong.empty, dynamics_wrong[["id", "dynamics", "dynamik_index_klasse"]].to_string()


@pytest.mark.parametrize("year", YEARS)
def test_berlin_classes_reproduced_by_the_library(year):
    values, published, status, dynamics, exclude = _berlin(year)
    config = MssConfig(status=status, dynamics=dynamics, min_population=300, exclude=exclude)

    result = compute_mss(values, config, "id", "inhabitants")

    assert list(result["id"]) == list(values["id"])
    assert set(result.loc[result["indexed"], "id"]) == set(published["id"])
    done = result[result["indexed"]]
    _assert_published_classes(done["id"], done["status_class"], done["dynamics_class"], published)
    # The indexed scores are standardised; every area not indexed says why.
    assert abs(done["status_z"].mean()) < 1e-12 and abs(done["status_z"].std(ddof=0) - 1) < 1e-12
    reasons = set(result.loc[~result["indexed"], "reason"])
    assert reasons == {"population_below_minimum", "excluded"}
    assert unknown_exclusions(values, config, "id") == ()


@pytest.mark.parametrize("year", YEARS)
def test_berlin_classes_reproduced_by_the_cli(year, tmp_path):
    values, published, status, dynamics, exclude = _berlin(year)
    out = tmp_path / "mss.csv"
    args = ["index", "mss", "--values", str(BERLIN / f"mss{year}-2-1.csv"), "--id-column", "id"]
    args += ["--population-column", "inhabitants", "--status", ",".join(status), "--dynamics", ",".join(dynamics)]
    args += ["--min-population", "300", "--exclude", ",".join(exclude), "--out", str(out)]

    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    assert f"{len(published)} of {len(values)} areas indexed" in result.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADER
    body = rows[1:]
    assert [r[0] for r in body] == list(values["id"])  # one row per input row, input order, ids as text
    indexed = [r for r in body if r[1] == "true"]
    assert {r[1] for r in body} == {"true", "false"}
    assert all(r[2:] == ["", "", "", ""] for r in body if r[1] == "false")
    _assert_published_classes([r[0] for r in indexed], [r[3] for r in indexed], [r[5] for r in indexed], published)


# --------------------------------------------------------------------------------------------------
# Hand-computed cases


def _frame(status, dynamics=None, population=None, ids=None) -> pd.DataFrame:
    n = len(status)
    frame = pd.DataFrame(
        {
            "id": ids or [f"{i:04d}" for i in range(1, n + 1)],
            "pop": population or [1000] * n,
            "s1": status,
        }
    )
    if dynamics is not None:
        frame["d1"] = dynamics
    return frame


def test_population_sd_is_used_not_the_sample_sd():
    # s1 = 0, 0, 0, 1: mean 0.25, population sd sqrt(0.1875) = 0.4330 → z of the last area = sqrt(3) = 1.732
    # ("sehr niedrig"); the sample sd 0.5 would give exactly 1.5 ("niedrig").
    frame = _frame([0.0, 0.0, 0.0, 1.0])
    result = compute_mss(frame, MssConfig(status=("s1",)), "id", "pop")

    assert result["status_z"].tolist() == pytest.approx([-1 / math.sqrt(3)] * 3 + [math.sqrt(3)], abs=1e-12)
    assert result["status_class"].tolist() == ["mittel", "mittel", "mittel", "sehr niedrig"]
    sample_z = (1.0 - 0.25) / np.std([0.0, 0.0, 0.0, 1.0], ddof=1)
    assert sample_z == pytest.approx(1.5) and classify_status([sample_z])[0] == "niedrig"


def test_sum_of_z_values_is_standardised_again():
    frame = _frame([0.0, 0.0, 0.0, 1.0])
    frame["s2"] = [0.0, 0.0, 1.0, 1.0]
    # z(s1) = -a, -a, -a, 3a with a = 1/sqrt(3); z(s2) = -1, -1, 1, 1; sum = -1.57735, -1.57735, 0.42265,
    # 2.73205 with mean 0 and population sd 1.77615 → -0.88807, -0.88807, 0.23796, 1.53819.
    result = compute_mss(frame, MssConfig(status=("s1", "s2")), "id", "pop")

    assert result["status_z"].tolist() == pytest.approx([-0.88807, -0.88807, 0.23796, 1.53819], abs=1e-5)
    assert result["status_class"].tolist() == ["mittel", "mittel", "mittel", "sehr niedrig"]
    assert result["dynamics_z"].isna().all() and (result["dynamics_class"] == "").all()


def test_small_excluded_and_incomplete_areas_are_not_indexed_and_do_not_count():
    core = _frame(
        [1.0, 2.0, 3.0, 4.0, 10.0], dynamics=[0.5, -0.5, 0.0, 1.0, -2.0], population=[300, 500, 800, 900, 4000]
    )
    extra = pd.DataFrame(
        {
            "id": ["0900", "0901", "0902"],
            "pop": [299, 5000, 700],
            "s1": [99.0, 99.0, 5.0],
            "d1": [9.0, 9.0, np.nan],
        }
    )
    frame = pd.concat([extra.iloc[:1], core.iloc[:2], extra.iloc[1:], core.iloc[2:]], ignore_index=True)
    config = MssConfig(status=("s1",), dynamics=("d1",), exclude=("0901", "7777"))

    result = compute_mss(frame, config, "id", "pop")
    alone = compute_mss(core, MssConfig(status=("s1",), dynamics=("d1",)), "id", "pop")

    assert result["id"].tolist() == ["0900", "0001", "0002", "0901", "0902", "0003", "0004", "0005"]
    assert result["indexed"].tolist() == [False, True, True, False, False, True, True, True]
    assert result["reason"].tolist() == [
        "population_below_minimum",
        "",
        "",
        "excluded",
        "missing_value:d1",
        "",
        "",
        "",
    ]
    not_indexed = result[~result["indexed"]]
    assert not_indexed[["status_z", "dynamics_z"]].isna().all().all()
    assert (not_indexed[["status_class", "dynamics_class"]] == "").all().all()
    # The indexed areas get exactly the scores they get without the others (population 300 is indexed).
    done = result[result["indexed"]].set_index("id")
    pd.testing.assert_frame_equal(done, alone.set_index("id"))
    assert unknown_exclusions(frame, config, "id") == ("7777",)


def test_threshold_boundaries():
    # Mean 0, population sd exactly 1: the scores are the values themselves, exactly.
    z = [1.5, -1.5, 1.0, -1.0, 0.5, -0.5, 0.0]
    result = compute_mss(_frame(z, dynamics=z), MssConfig(status=("s1",), dynamics=("d1",)), "id", "pop")

    assert result["status_z"].tolist() == z
    assert result["status_class"].tolist() == ["niedrig", "hoch", "mittel", "mittel", "mittel", "mittel", "mittel"]
    assert result["dynamics_class"].tolist() == ["negativ", "positiv", "stabil", "stabil", "stabil", "stabil", "stabil"]
    up, down = np.nextafter(1.0, 2.0), np.nextafter(-1.0, -2.0)
    above = np.nextafter(1.5, 2.0)
    assert classify_status([down, -1.0, 1.0, up, 1.5, above, np.nan]).tolist() == [
        "hoch",
        "mittel",
        "mittel",
        "niedrig",
        "niedrig",
        "sehr niedrig",
        "",
    ]
    assert classify_dynamics([down, -1.0, 1.0, up]).tolist() == ["positiv", "stabil", "stabil", "negativ"]


def test_bounds_are_configuration():
    config = MssConfig.from_mapping(
        {"status": ["s1"], "dynamics": ["d1"], "status_bounds": [-0.5, 0.5, 1.0], "dynamics_bounds": [-0.25, 0.25]}
    )
    z = [1.5, -1.5, 1.0, -1.0, 0.5, -0.5, 0.0]
    result = compute_mss(_frame(z, dynamics=z), config, "id", "pop")
    assert result["status_class"].tolist() == ["sehr niedrig", "hoch", "niedrig", "hoch", "mittel", "mittel", "mittel"]
    assert result["dynamics_class"].tolist() == [
        "negativ",
        "positiv",
        "negativ",
        "positiv",
        "negativ",
        "positiv",
        "stabil",
    ]


SEMICOLON_CP1252 = (
    "Gebiet;Name;Einwohner;Arbeitslose;Transfer;Veränderung\r\n"
    "0101;Nordstraße;1.250;6,38;20,5;-0,25\r\n"
    "0102;Südhang;2.400;3,5;11;0,5\r\n"
    "0103;Am Fluss;870;9,75;31,25;1,5\r\n"
    "0104;Gewerbe;40;.;*;-\r\n"
    "0105;Mitte;1.100,0;4;;0\r\n"
    "0106;Ostend;650;12;40;-1,75\r\n"
)
COMMA_UTF8_BOM = (
    "\ufeffGebiet,Name,Einwohner,Arbeitslose,Transfer,Veränderung\n"
    "0101,Nordstraße,1250,6.38,20.5,-0.25\n"
    "0102,Südhang,2400,3.5,11,0.5\n"
    '0103,"Am Fluss",870,9.75,31.25,1.5\n'
    "0104,Gewerbe,40,.,*,-\n"
    "0105,Mitte,1100.0,4,,0\n"
    "0106,Ostend,650,12,40,-1.75\n"
)
SMALL = MssConfig(status=("Arbeitslose", "Transfer"), dynamics=("Veränderung",))


def test_semicolon_decimal_comma_file_equals_the_comma_file(tmp_path):
    (tmp_path / "semicolon.csv").write_bytes(SEMICOLON_CP1252.encode("cp1252"))
    (tmp_path / "comma.csv").write_bytes(COMMA_UTF8_BOM.encode("utf-8"))
    numeric = ("Einwohner", *SMALL.columns)

    semicolon = read_values(tmp_path / "semicolon.csv", id_column="Gebiet", numeric_columns=numeric)
    comma = read_values(tmp_path / "comma.csv", id_column="Gebiet", numeric_columns=numeric)

    pd.testing.assert_frame_equal(semicolon, comma)
    assert semicolon["Gebiet"].tolist() == ["0101", "0102", "0103", "0104", "0105", "0106"]
    assert semicolon["Name"].tolist()[:2] == ["Nordstraße", "Südhang"]
    assert semicolon["Einwohner"].tolist() == [1250, 2400, 870, 40, 1100, 650]
    assert semicolon["Arbeitslose"].tolist()[:3] == [6.38, 3.5, 9.75]
    assert semicolon.loc[3, ["Arbeitslose", "Transfer", "Veränderung"]].isna().all()
    a = compute_mss(semicolon, SMALL, "Gebiet", "Einwohner")
    b = compute_mss(comma, SMALL, "Gebiet", "Einwohner")
    pd.testing.assert_frame_equal(a, b)
    assert a["id"].tolist()[0] == "0101"
    assert a["reason"].tolist() == ["", "", "", "population_below_minimum", "missing_value:Transfer", ""]
    # Without a column list the id still stays text (zero-padded) and the names stay text.
    auto = read_values(tmp_path / "semicolon.csv")
    assert auto["Gebiet"].tolist()[0] == "0101" and auto["Name"].dtype != float
    assert auto["Arbeitslose"].dtype == float


def test_missing_column_is_a_clear_error(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text(COMMA_UTF8_BOM, encoding="utf-8")

    with pytest.raises(ValueError) as caught:
        read_values(path, id_column="Gebiet", numeric_columns=("Einwohner", "Arbeitslosigkeit"))
    message = str(caught.value)
    assert str(path) in message and "'Arbeitslosigkeit'" in message
    assert "available columns: Gebiet, Name, Einwohner, Arbeitslose, Transfer, Veränderung" in message

    with pytest.raises(MssInputError, match="'Wohnbevölkerung'.*available columns"):
        compute_mss(read_values(path), SMALL, "Gebiet", "Wohnbevölkerung")


def test_cli_bad_input_exits_with_2(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text(COMMA_UTF8_BOM, encoding="utf-8")
    out = tmp_path / "out.csv"
    base = ["index", "mss", "--id-column", "Gebiet", "--population-column", "Einwohner", "--out", str(out)]

    missing_column = runner.invoke(app, [*base, "--values", str(path), "--status", "Arbeitslose,Quote"])
    assert missing_column.exit_code == 2
    assert "'Quote'" in missing_column.output and "available columns" in missing_column.output

    missing_file = runner.invoke(app, [*base, "--values", str(tmp_path / "nope.csv"), "--status", "Arbeitslose"])
    assert missing_file.exit_code == 2 and "nope.csv" in missing_file.output and "no such file" in missing_file.output

    constant = runner.invoke(app, [*base, "--values", str(path), "--status", "Arbeitslose", "--min-population", "2000"])
    assert constant.exit_code == 2 and "standard deviation 0" in constant.output
    assert not out.exists()

    twice = runner.invoke(app, [*base, "--values", str(path), "--status", "Arbeitslose,Arbeitslose"])
    assert twice.exit_code == 2 and "names a column twice: Arbeitslose" in twice.output

    ok = runner.invoke(app, [*base, "--values", str(path), "--status", "Arbeitslose,Transfer", "--exclude", "0999"])
    assert ok.exit_code == 0, ok.output
    assert "4 of 6 areas indexed" in ok.output and "0999" in ok.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(HEADER)


def test_constant_indicator_is_an_error_naming_the_column():
    frame = _frame([1.0, 2.0, 3.0], dynamics=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="standard deviation 0.*d1"):
        compute_mss(frame, MssConfig(status=("s1",), dynamics=("d1",)), "id", "pop")


def test_output_bytes_are_fixed_and_deterministic(tmp_path):
    frame = _frame([0.0, 0.0, 0.0, 1.0, 7.0], dynamics=[1.0, -1.0, 0.0, 0.0, 3.0], population=[900, 900, 900, 900, 10])
    result = compute_mss(frame, MssConfig(status=("s1",), dynamics=("d1",)), "id", "pop")

    write_result(result, tmp_path / "a.csv")
    write_result(compute_mss(frame, MssConfig(status=("s1",), dynamics=("d1",)), "id", "pop"), tmp_path / "b.csv")

    expected = (
        "id,indexed,status_z,status_class,dynamics_z,dynamics_class\n"
        "0001,true,-0.577350,mittel,1.414214,negativ\n"
        "0002,true,-0.577350,mittel,-1.414214,positiv\n"
        "0003,true,-0.577350,mittel,0.000000,stabil\n"
        "0004,true,1.732051,sehr niedrig,0.000000,stabil\n"
        "0005,false,,,,\n"
    )
    assert (tmp_path / "a.csv").read_bytes() == expected.encode("utf-8")
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()


def test_config_from_mapping_validates_keys():
    config = MssConfig.from_mapping(
        {
            "status": ["s1", "s2"],
            "dynamics": [],
            "min_population": 250,
            "exclude": ["0101"],
            "status_bounds": [-1, 1, 2],
        }
    )
    assert config == MssConfig(
        status=("s1", "s2"), min_population=250, exclude=("0101",), status_bounds=(-1.0, 1.0, 2.0)
    )
    assert MssConfig.from_mapping({"status": ["s1"]}).dynamics_bounds == (-1.0, 1.0)
    with pytest.raises(ValueError, match="'weights'"):
        MssConfig.from_mapping({"status": ["s1"], "weights": [1]})
    with pytest.raises(ValueError, match="'status'"):
        MssConfig.from_mapping({"dynamics": ["d1"]})
    with pytest.raises(ValueError, match="'exclude'.*quote"):
        MssConfig.from_mapping({"status": ["s1"], "exclude": [1011101]})
    with pytest.raises(ValueError, match="'status_bounds'"):
        MssConfig.from_mapping({"status": ["s1"], "status_bounds": [1, -1, 1.5]})
    with pytest.raises(ValueError, match="'dynamics_bounds'"):
        MssConfig.from_mapping({"status": ["s1"], "dynamics_bounds": [-1, 0, 1]})
    with pytest.raises(ValueError, match="'min_population'"):
        MssConfig.from_mapping({"status": ["s1"], "min_population": "300"})
    assert MssConfig.from_mapping({"status": ["s1"], "dynamics": None, "exclude": None}) == MssConfig(status=("s1",))


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"status": []}, r"key 'status': at least one status indicator is needed"),
        ({"status": "s1"}, r"key 'status'.*'s1'"),
        ({"status": ["s1", " s1"]}, r"key 'status': names a column twice: s1"),
        ({"status": ["s1", ""]}, r"key 'status', entry no. 2"),
        ({"status": ["s1"], "dynamics": ["d1", "d1"]}, r"key 'dynamics': names a column twice: d1"),
        ({"status": ["s1", "s2"], "dynamics": ["s2"]}, r"dynamics names status column\(s\) too: s2"),
        ({"status": ["s1"], "min_population": -1}, r"'min_population'.*greater than or equal to 0"),
        ({"status": ["s1"], "min_population": True}, r"'min_population'.*number"),
        ({"status": ["s1"], "min_population": math.inf}, r"'min_population'.*finite"),
        ({"status": ["s1"], "status_bounds": [-1, 1]}, r"'status_bounds': must be 3 strictly ascending numbers"),
        ({"status": ["s1"], "status_bounds": [-1, 1, "2"]}, r"'status_bounds', entry no. 3.*number"),
        ({"status": ["s1"], "dynamics_bounds": [1, 1]}, r"'dynamics_bounds': must be 2 strictly ascending numbers"),
        (["s1"], r"MSS configuration: expected a mapping"),
    ],
)
def test_config_rules(mapping, message):
    with pytest.raises(MssInputError, match=message):
        MssConfig.from_mapping(mapping)


def test_config_built_in_python_raises_mss_input_error():
    # the CLI builds MssConfig directly and turns MssInputError into exit code 2
    with pytest.raises(MssInputError, match=r"MSS configuration, key 'exclude'.*quote"):
        MssConfig(status=("s1",), exclude=(1011101,))
    config = MssConfig(status=(" s1 ",), exclude=("0101",))
    assert config.status == ("s1",) and hash(config) == hash(MssConfig(status=("s1",), exclude=("0101",)))
    with pytest.raises(ValueError, match="frozen"):
        config.min_population = 0
