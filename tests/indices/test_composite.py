"""The composite index (Gelsenkirchen-style) on examples small enough to compute by hand.

The standard example: four areas, two dimensions.

    area   x1 (worse)   x2 (worse)   y (better)
    A      40           6            90
    B       0           2            10
    C      20          10            50
    D      10           2            70

Min-max normalised (need orientation): x1 → 1, 0, .5, .25; x2 → .5, 0, 1, 0; y → 0, 1, .5, .25.
Dimension "wirtschaft" (x1, x2) = .75, 0, .75, .125; dimension "bildung" (y) = 0, 1, .5, .25.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from orchestration.indices.composite import (
    CompositeConfig,
    ConfigError,
    Dimension,
    IndicatorRef,
    compute_composite,
    normalise,
)


def mapping(**overrides) -> dict:
    base = {
        "name": "kinder_teilhabe",
        "normalisation": "minmax",
        "aggregation": "arithmetic",
        "dimensions": [
            {
                "id": "wirtschaft",
                "name_de": "Wirtschaftliche Lage",
                "indicators": [
                    {"id": "x1", "direction": "higher_is_worse"},
                    {"id": "x2", "direction": "higher_is_worse"},
                ],
            },
            {
                "id": "bildung",
                "name_de": "Bildungsbeteiligung",
                "indicators": [{"id": "y", "direction": "higher_is_better"}],
            },
        ],
    }
    base.update(overrides)
    return base


def example() -> pd.DataFrame:
    return pd.DataFrame(
        {"x1": [40.0, 0.0, 20.0, 10.0], "x2": [6.0, 2.0, 10.0, 2.0], "y": [90.0, 10.0, 50.0, 70.0]},
        index=pd.Index(["A", "B", "C", "D"], name="area"),
    )


def by_area(result, column: str) -> dict:
    areas = result.areas.set_index("area_id")[column]
    return {k: (None if pd.isna(v) else v) for k, v in areas.items()}


# ---------------------------------------------------------------------------------------------- normalise


def test_zscore_uses_the_population_sd():
    # mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    out = normalise(pd.Series([1.0, 2.0, 3.0, 4.0]), "zscore", "higher_is_worse")
    assert out.tolist() == pytest.approx([-1.3416407865, -0.4472135955, 0.4472135955, 1.3416407865])
    assert out.std(ddof=0) == pytest.approx(1.0)


def test_higher_is_better_flips_the_orientation():
    values = pd.Series([1.0, 2.0, 3.0, 4.0])
    assert normalise(values, "zscore", "higher_is_better").tolist() == pytest.approx(
        [1.3416407865, 0.4472135955, -0.4472135955, -1.3416407865]
    )
    assert normalise(pd.Series([2.0, 4.0, 6.0, 10.0]), "minmax", "higher_is_better").tolist() == [1.0, 0.75, 0.5, 0.0]


def test_minmax():
    assert normalise(pd.Series([2.0, 4.0, 6.0, 10.0]), "minmax").tolist() == [0.0, 0.25, 0.5, 1.0]


def test_rank_averages_ties_and_scales_to_unit_interval():
    values = pd.Series([10.0, 20.0, 20.0, 40.0])
    # ranks 1, 2.5, 2.5, 4 → (rank - 1) / 3
    assert normalise(values, "rank").tolist() == [0.0, 0.5, 0.5, 1.0]
    assert normalise(values, "rank", "higher_is_better").tolist() == [1.0, 0.5, 0.5, 0.0]
    assert normalise(pd.Series([3.0, 1.0, 2.0]), "rank").tolist() == [1.0, 0.0, 0.5]


def test_missing_values_stay_missing_and_do_not_enter_the_statistics():
    values = pd.Series([1.0, np.nan, 3.0], index=["a", "b", "c"], name="x")
    z = normalise(values, "zscore")  # mean 2, population sd 1
    assert z.index.tolist() == ["a", "b", "c"] and z.name == "x"
    assert z["a"] == -1.0 and np.isnan(z["b"]) and z["c"] == 1.0
    assert normalise(values, "minmax").tolist()[::2] == [0.0, 1.0]
    assert normalise(values, "rank").tolist()[::2] == [0.0, 1.0]
    assert normalise(values, "rank").isna().tolist() == [False, True, False]


def test_constant_or_single_values_get_the_middle_of_the_scale():
    constant = pd.Series([5.0, 5.0, np.nan, 5.0])
    assert normalise(constant, "zscore").tolist()[:2] == [0.0, 0.0]
    assert normalise(constant, "minmax").tolist()[:2] == [0.5, 0.5]
    assert normalise(constant, "rank").tolist()[:2] == [0.5, 0.5]
    assert normalise(pd.Series([7.0, np.nan]), "rank").tolist()[0] == 0.5
    assert normalise(pd.Series([np.nan, np.nan]), "zscore").isna().all()


def test_normalise_rejects_infinite_values_and_unknown_methods():
    with pytest.raises(ValueError, match="'quote'.*infinite"):
        normalise(pd.Series([1.0, np.inf], name="quote"), "zscore")
    with pytest.raises(ValueError, match="normalisation"):
        normalise(pd.Series([1.0, 2.0]), "robust")


# ---------------------------------------------------------------------------------------------- aggregation


def test_arithmetic_minmax_by_hand():
    result = compute_composite(example(), CompositeConfig.from_mapping(mapping()))
    assert result.areas["area_id"].tolist() == ["A", "B", "C", "D"]
    assert result.areas.columns.tolist() == [
        "area_id",
        "indexed",
        "reason",
        "index_value",
        "rank",
        "missing_indicators",
        "n_missing",
        "dim_wirtschaft",
        "dim_bildung",
    ]
    assert by_area(result, "dim_wirtschaft") == {"A": 0.75, "B": 0.0, "C": 0.75, "D": 0.125}
    assert by_area(result, "dim_bildung") == {"A": 0.0, "B": 1.0, "C": 0.5, "D": 0.25}
    assert by_area(result, "index_value") == {"A": 0.375, "B": 0.5, "C": 0.625, "D": 0.1875}
    assert by_area(result, "rank") == {"A": 3, "B": 2, "C": 1, "D": 4}
    assert result.areas["indexed"].all() and (result.areas["reason"] == "").all()
    assert (result.areas["missing_indicators"] == "").all() and (result.areas["n_missing"] == 0).all()


def test_arithmetic_zscore_by_hand():
    result = compute_composite(example(), CompositeConfig.from_mapping(mapping(normalisation="zscore")))
    # x1: mean 17.5, population variance 218.75; x2: mean 5, variance 11; -y: mean -55, variance 875.
    z_x1 = {"A": 22.5, "B": -17.5, "C": 2.5, "D": -7.5}
    z_x2 = {"A": 1.0, "B": -3.0, "C": 5.0, "D": -3.0}
    z_y = {"A": -35.0, "B": 45.0, "C": 5.0, "D": -15.0}
    for area in "ABCD":
        wirtschaft = (z_x1[area] / math.sqrt(218.75) + z_x2[area] / math.sqrt(11)) / 2
        bildung = z_y[area] / math.sqrt(875)
        row = result.areas.set_index("area_id").loc[area]
        assert row["dim_wirtschaft"] == pytest.approx(wirtschaft)
        assert row["dim_bildung"] == pytest.approx(bildung)
        assert row["index_value"] == pytest.approx((wirtschaft + bildung) / 2)
    assert by_area(result, "index_value")["A"] == pytest.approx(-0.1359107)
    assert by_area(result, "rank") == {"A": 3, "B": 2, "C": 1, "D": 4}
    assert result.normalised.loc["B", "y"] == pytest.approx(1.5212777)


def test_geometric_by_hand_penalises_one_very_high_need():
    config = CompositeConfig.from_mapping(mapping(aggregation="geometric"))
    result = compute_composite(example(), config)
    # participation p = 1 - 0.99 * u; u as in the module docstring of this test file.
    p = {"A": (0.01, 0.505, 1.0), "B": (1.0, 1.0, 0.01), "C": (0.505, 0.01, 0.505), "D": (0.7525, 1.0, 0.7525)}
    for area, (p1, p2, py) in p.items():
        wirtschaft = math.sqrt(p1 * p2)
        row = result.areas.set_index("area_id").loc[area]
        assert row["dim_wirtschaft"] == pytest.approx(1 - wirtschaft)
        assert row["dim_bildung"] == pytest.approx(1 - py)
        assert row["index_value"] == pytest.approx(1 - math.sqrt(wirtschaft * py))
    assert by_area(result, "index_value")["B"] == pytest.approx(0.9)
    assert by_area(result, "index_value")["C"] == pytest.approx(0.8105607)
    # B (extreme in one dimension) overtakes the balanced C, unlike with arithmetic aggregation.
    assert by_area(result, "rank") == {"A": 3, "B": 1, "C": 2, "D": 4}


def test_geometric_floor_is_configurable():
    config = CompositeConfig.from_mapping(mapping(aggregation="geometric", geometric_floor=0.5))
    assert by_area(compute_composite(example(), config), "index_value")["B"] == pytest.approx(1 - math.sqrt(0.5))


def test_dimension_weights_change_the_order():
    config = CompositeConfig.from_mapping(mapping())
    weighted = config.replace(dimension_weights=(3.0, 1.0))
    result = compute_composite(example(), weighted)
    assert by_area(result, "index_value") == {"A": 0.5625, "B": 0.25, "C": 0.6875, "D": 0.15625}
    assert by_area(result, "rank") == {"A": 2, "B": 3, "C": 1, "D": 4}
    # the same through the mapping, and as a dimension id → weight mapping
    m = mapping()
    m["dimensions"][0]["weight"] = 3
    assert CompositeConfig.from_mapping(m).dimension_weights == (3.0, 1.0)
    assert config.replace(dimension_weights={"wirtschaft": 3}).dimension_weights == (3.0, 1.0)


def test_indicator_weights_within_a_dimension():
    m = mapping()
    m["dimensions"][0]["indicators"][0]["weight"] = 3
    result = compute_composite(example(), CompositeConfig.from_mapping(m))
    # wirtschaft = (3 * x1 + x2) / 4
    assert by_area(result, "dim_wirtschaft") == {"A": 0.875, "B": 0.0, "C": 0.625, "D": 0.1875}


def test_ties_share_the_lowest_rank():
    frame = pd.DataFrame({"x1": [1.0, 1.0, 0.0], "x2": [1.0, 1.0, 0.0], "y": [0.0, 0.0, 1.0]}, index=["a", "b", "c"])
    result = compute_composite(frame, CompositeConfig.from_mapping(mapping()))
    assert by_area(result, "rank") == {"a": 1, "b": 1, "c": 3}


# ---------------------------------------------------------------------------------------------- missing values


def with_missing_x2_in_d() -> pd.DataFrame:
    frame = example()
    frame.loc["D", "x2"] = np.nan
    return frame


def test_exclude_area_drops_the_area_visibly_and_from_the_statistics():
    result = compute_composite(with_missing_x2_in_d(), CompositeConfig.from_mapping(mapping()))
    d = result.areas.set_index("area_id").loc["D"]
    assert not d["indexed"] and d["reason"] == "missing:x2"
    assert d["missing_indicators"] == "x2" and d["n_missing"] == 1
    assert np.isnan(d["index_value"]) and pd.isna(d["rank"]) and np.isnan(d["dim_wirtschaft"])
    # normalised over A, B, C only: x1 → 1, 0, .5; x2 → .5, 0, 1; y → 0, 1, .5
    assert by_area(result, "index_value") == {"A": 0.375, "B": 0.5, "C": 0.625, "D": None}
    assert by_area(result, "rank") == {"A": 3, "B": 2, "C": 1, "D": None}
    assert result.normalised.loc["D"].isna().all()


def test_reweight_uses_the_available_indicators_and_flags_the_area():
    result = compute_composite(with_missing_x2_in_d(), CompositeConfig.from_mapping(mapping(missing="reweight")))
    d = result.areas.set_index("area_id").loc["D"]
    assert d["indexed"] and d["reason"] == ""
    assert d["missing_indicators"] == "x2" and d["n_missing"] == 1
    # x1 normalised over all four (D → .25); x2 over A, B, C; wirtschaft(D) = x1 only
    assert by_area(result, "dim_wirtschaft") == {"A": 0.75, "B": 0.0, "C": 0.75, "D": 0.25}
    assert by_area(result, "index_value") == {"A": 0.375, "B": 0.5, "C": 0.625, "D": 0.25}
    dims = result.dimensions.set_index(["area_id", "dimension_id"])
    assert dims.loc[("D", "wirtschaft"), "n_indicators_used"] == 1
    assert dims.loc[("D", "wirtschaft"), "n_indicators_missing"] == 1
    assert dims.loc[("A", "wirtschaft"), "n_indicators_used"] == 2


def test_reweight_with_unequal_weights_and_the_missing_share_bound():
    m = mapping(missing="reweight")
    m["dimensions"][0]["indicators"][0]["weight"] = 3  # x2 carries 1/4 of the dimension's weight
    frame = with_missing_x2_in_d()
    for share, indexed in ((0.25, True), (0.2, False)):
        m["max_missing_share"] = share
        result = compute_composite(frame, CompositeConfig.from_mapping(m))
        d = result.areas.set_index("area_id").loc["D"]
        assert d["indexed"] == indexed
        assert d["reason"] == ("" if indexed else "missing:x2")
    m["max_missing_share"] = 0.25
    result = compute_composite(frame, CompositeConfig.from_mapping(m))
    # (3 * x1 + 1 * x2) / 4, D renormalised to x1 alone
    assert by_area(result, "dim_wirtschaft") == {"A": 0.875, "B": 0.0, "C": 0.625, "D": 0.25}


def test_a_wholly_missing_dimension_is_never_indexed_under_reweight():
    frame = example()
    frame.loc["C", "y"] = np.nan
    frame.loc["A", ["x1", "x2"]] = np.nan
    result = compute_composite(frame, CompositeConfig.from_mapping(mapping(missing="reweight", max_missing_share=0.9)))
    assert by_area(result, "reason") == {"A": "missing:x1,x2", "B": "", "C": "missing:y", "D": ""}
    assert by_area(result, "n_missing") == {"A": 2, "B": 0, "C": 1, "D": 0}


# ---------------------------------------------------------------------------------------------- eligibility


def test_min_population_excludes_an_area_without_influencing_the_others():
    config = CompositeConfig.from_mapping(mapping(min_population=300))
    frame = pd.concat([example(), pd.DataFrame({"x1": [1000.0], "x2": [100.0], "y": [0.0]}, index=["E"])])
    population = pd.Series({"A": 500, "B": 300, "C": 12000, "D": 301, "E": 299})
    result = compute_composite(frame, config, population)
    e = result.areas.set_index("area_id").loc["E"]
    assert not e["indexed"] and e["reason"] == "population_below_minimum" and np.isnan(e["index_value"])
    assert by_area(result, "index_value") == {"A": 0.375, "B": 0.5, "C": 0.625, "D": 0.1875, "E": None}
    assert by_area(result, "rank") == {"A": 3, "B": 2, "C": 1, "D": 4, "E": None}


def test_unknown_population_and_exclusion_list():
    config = CompositeConfig.from_mapping(mapping(min_population=300, exclude=["B"]))
    result = compute_composite(example(), config, pd.Series({"A": 500.0, "B": 900.0, "C": np.nan}))
    assert by_area(result, "reason") == {"A": "", "B": "excluded", "C": "population_unknown", "D": "population_unknown"}
    assert by_area(result, "rank") == {"A": 1, "B": None, "C": None, "D": None}


def test_min_population_needs_a_population():
    with pytest.raises(ValueError, match="min_population"):
        compute_composite(example(), CompositeConfig.from_mapping(mapping(min_population=300)))


def test_area_ids_become_text_and_the_input_order_is_kept():
    frame = example()
    frame.index = [30, 10, 20, 40]
    result = compute_composite(frame, CompositeConfig.from_mapping(mapping()))
    assert result.areas["area_id"].tolist() == ["30", "10", "20", "40"]
    assert result.dimensions["area_id"].tolist() == ["30", "30", "10", "10", "20", "20", "40", "40"]
    assert result.dimensions["dimension_id"].tolist()[:2] == ["wirtschaft", "bildung"]
    assert result.dimensions["value"].tolist()[:2] == [0.75, 0.0]


def test_input_errors_name_the_problem():
    config = CompositeConfig.from_mapping(mapping())
    with pytest.raises(ValueError, match="indicator.*x2"):
        compute_composite(example().drop(columns="x2"), config)
    frame = example()
    frame.index = ["A", "A", "C", "D"]
    with pytest.raises(ValueError, match="twice.*A"):
        compute_composite(frame, config)


# ---------------------------------------------------------------------------------------------- configuration


def test_from_mapping_reads_every_key():
    m = mapping(missing="reweight", max_missing_share=0.4, min_population=300, normalisation="rank")
    m["dimensions"][1]["weight"] = 2
    m["dimensions"][0]["indicators"][1]["weight"] = 0.5
    config = CompositeConfig.from_mapping(m)
    assert config.name == "kinder_teilhabe"
    assert config.dimension_ids == ("wirtschaft", "bildung")
    assert config.dimension_weights == (1.0, 2.0)
    assert config.dimensions[0] == Dimension(
        "wirtschaft",
        "Wirtschaftliche Lage",
        (IndicatorRef("x1", 1.0, "higher_is_worse"), IndicatorRef("x2", 0.5, "higher_is_worse")),
    )
    assert config.indicator_ids == ("x1", "x2", "y")
    assert (config.normalisation, config.aggregation, config.missing) == ("rank", "arithmetic", "reweight")
    assert (config.max_missing_share, config.min_population, config.geometric_floor) == (0.4, 300.0, 0.01)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["dimensions"][0]["indicators"][0].update(wieght=2), r"dimension 'wirtschaft'.*'x1'.*'wieght'"),
        (lambda m: m["dimensions"][1]["indicators"][0].update(direction="up"), r"'y'.*direction"),
        (lambda m: m["dimensions"][1]["indicators"][0].pop("direction"), r"'y'.*'direction'"),
        (lambda m: m["dimensions"][0]["indicators"][1].update(weight=0), r"'x2'.*weight"),
        (lambda m: m["dimensions"][0].update(weight="viel"), r"'wirtschaft'.*weight"),
        (lambda m: m["dimensions"][0].update(weight=-1), r"'wirtschaft'.*weight"),
        (lambda m: m["dimensions"][1].update(indicators=[]), r"'bildung'.*indicators"),
        (lambda m: m["dimensions"][1].update(id="wirtschaft"), r"twice: wirtschaft"),
        (lambda m: m["dimensions"][1]["indicators"][0].update(id="x1"), r"'x1'.*'wirtschaft'.*'bildung'"),
        (lambda m: m.update(agregation="geometric"), r"'agregation'"),
        (lambda m: m.update(normalisation="robust"), r"normalisation"),
        (lambda m: m.update(aggregation="harmonic"), r"aggregation"),
        (lambda m: m.update(missing="impute"), r"missing"),
        (lambda m: m.update(max_missing_share=1.0), r"max_missing_share"),
        (lambda m: m.update(min_population=-1), r"min_population"),
        (lambda m: m.update(geometric_floor=0), r"geometric_floor"),
        (lambda m: m.pop("dimensions"), r"'dimensions'"),
        (lambda m: m.update(dimensions=[]), r"dimensions"),
        # rules of the hand-written checks that had no test
        (lambda m: m["dimensions"][0]["indicators"][0].update(id=" "), r"'wirtschaft', indicator no. 1, key 'id'"),
        (lambda m: m["dimensions"][0]["indicators"][0].update(id=101), r"'wirtschaft', indicator no. 1, key 'id'.*101"),
        (lambda m: m["dimensions"][0]["indicators"][0].pop("id"), r"'wirtschaft', indicator no. 1.*required key 'id'"),
        (lambda m: m["dimensions"][0]["indicators"][1].update(weight=-1), r"'x2', key 'weight'.*greater than 0"),
        (lambda m: m["dimensions"][0]["indicators"][1].update(weight=True), r"'x2', key 'weight'.*number.*True"),
        (lambda m: m["dimensions"][0]["indicators"][1].update(weight="2"), r"'x2', key 'weight'.*number.*'2'"),
        (lambda m: m["dimensions"][0]["indicators"][1].update(weight=math.inf), r"'x2', key 'weight'.*finite"),
        (lambda m: m["dimensions"][0]["indicators"].append("x3"), r"'wirtschaft', indicator no. 3"),
        (lambda m: m["dimensions"][0]["indicators"].append(m["dimensions"][0]["indicators"][0]), r"twice: x1"),
        (lambda m: m["dimensions"][0].update(indicators="x1"), r"'wirtschaft', key 'indicators'.*'x1'"),
        (lambda m: m["dimensions"][0].update(id=""), r"dimension no. 1, key 'id'"),
        (lambda m: m["dimensions"][0].pop("id"), r"dimension no. 1: missing required key 'id'"),
        (lambda m: m["dimensions"][0].pop("indicators"), r"'wirtschaft': missing required key 'indicators'"),
        (lambda m: m["dimensions"][0].update(name_de=5), r"'wirtschaft', key 'name_de'"),
        (lambda m: m["dimensions"][0].update(colour="blau"), r"'wirtschaft': unknown key 'colour' \(allowed: id, "),
        (lambda m: m["dimensions"][0].update(weight=math.nan), r"'wirtschaft', key 'weight'.*finite"),
        (lambda m: [d.update(weight=0) for d in m["dimensions"]], r"weights must not all be 0"),
        (lambda m: m["dimensions"].append("bildung"), r"dimension no. 3"),
        (lambda m: m.update(dimensions="wirtschaft"), r"key 'dimensions'"),
        (lambda m: m.update(dimension_weights=[3, 1]), r"unknown key 'dimension_weights'.*'weight'"),
        (lambda m: m.update(max_missing_share=-0.1), r"max_missing_share.*greater than or equal to 0"),
        (lambda m: m.update(min_population="300"), r"min_population.*number"),
        (lambda m: m.update(geometric_floor=1), r"geometric_floor.*less than 1"),
        (lambda m: m.update(exclude="A"), r"key 'exclude'"),
        (lambda m: m.update(description=["text"]), r"key 'description'"),
    ],
)
def test_from_mapping_errors_name_the_offending_key(change, message):
    m = mapping()
    change(m)
    with pytest.raises(ValueError, match=message) as error:
        CompositeConfig.from_mapping(m)
    assert "kinder_teilhabe" in str(error.value)


def test_a_wrong_name_and_a_non_mapping_are_refused():
    with pytest.raises(ValueError, match=r"composite ' ', key 'name'"):
        CompositeConfig.from_mapping(mapping(name=" "))
    with pytest.raises(ValueError, match="expected a mapping, got list"):
        CompositeConfig.from_mapping([mapping()])


def test_every_problem_is_reported_on_a_line_of_its_own():
    m = mapping(normalisation="robust", agregation="geometric")
    m["dimensions"][1]["weight"] = -1
    m["dimensions"][0]["indicators"][1]["direction"] = "up"
    with pytest.raises(ConfigError) as error:
        CompositeConfig.from_mapping(m)
    lines = str(error.value).splitlines()
    assert len(lines) == 4, lines
    assert all(line.startswith("composite 'kinder_teilhabe'") for line in lines)
    assert not any("pydantic" in line or "http" in line for line in lines)


def test_the_python_form_is_checked_like_the_mapping():
    config = CompositeConfig.from_mapping(mapping())
    with pytest.raises(ConfigError, match=r"unknown dimension\(s\) bildun \(dimensions: wirtschaft, bildung\)"):
        config.replace(dimension_weights={"bildun": 2})
    with pytest.raises(ConfigError, match="dimension_weights has 1 entries for 2 dimensions"):
        config.replace(dimension_weights=(1.0,))
    with pytest.raises(ConfigError, match=r"dimension 'bildung', key 'weight'.*greater than or equal to 0"):
        config.replace(dimension_weights=(1.0, -1.0))
    with pytest.raises(ConfigError, match=r"unknown key 'colour' \(allowed: name, dimensions"):
        config.replace(colour="blau")
    with pytest.raises(ConfigError, match=r"dimension 'w', key 'indicators': must name at least one indicator"):
        Dimension("w", "W", ())
    with pytest.raises(ConfigError, match=r"indicator 'x': missing required key 'direction'"):
        IndicatorRef("x", 1.0)
    with pytest.raises(TypeError):
        IndicatorRef("x", 1.0, "higher_is_worse", "extra")
    assert Dimension(id="w", indicators=[IndicatorRef(id="x", direction="higher_is_worse")]).name_de == "w"
    dimensions = mapping()["dimensions"]
    dimensions[0]["weight"] = 3
    assert CompositeConfig(name="k", dimensions=dimensions).dimension_weights == (3.0, 1.0)
    with pytest.raises(ConfigError, match="dimension weights given twice"):
        CompositeConfig(name="k", dimensions=dimensions, dimension_weights=(1.0, 1.0))


def test_configurations_are_immutable_values():
    config = CompositeConfig.from_mapping(mapping(exclude=[" A "], min_population=300))
    again = CompositeConfig.from_mapping(mapping(exclude=["A"], min_population=300.0))
    assert config == again and hash(config) == hash(again) and {config: 1}[again] == 1
    assert config.exclude == ("A",) and isinstance(config.min_population, float)
    assert config.dimension_weights == (1.0, 1.0) and all(isinstance(i.weight, float) for i in config.indicators)
    with pytest.raises(ValueError, match="frozen"):
        config.name = "other"
    assert config.replace(name="other").name == "other" and config.name == "kinder_teilhabe"


def test_normalise_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="direction must be one of higher_is_worse, higher_is_better; got 'up'"):
        normalise(pd.Series([1.0, 2.0]), "zscore", "up")
