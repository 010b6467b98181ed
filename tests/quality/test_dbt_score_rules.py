"""`make lint` runs dbt-score with the project's configuration (pyproject.toml) and its own rule
(data_quality/dbt_score_rules.py): a model without a description or without a data test fails."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _model(name: str, description: str) -> dict:
    return {
        "unique_id": f"model.sozialmonitor.{name}", "name": name, "resource_type": "model",
        "relation_name": f'"warehouse"."marts"."{name}"', "description": description,
        "original_file_path": f"models/marts/{name}.sql", "config": {"materialized": "table"},
        "meta": {"owner": "Statistikstelle"}, "package_name": "sozialmonitor",
        "columns": {"id": {"name": "id", "description": "The key.", "constraints": [], "tags": [], "meta": {}}},
        "database": "warehouse", "schema": "marts", "raw_code": "select 1 as id", "language": "sql",
        "access": "protected", "alias": name, "tags": [], "depends_on": {"nodes": [], "macros": []},
        "constraints": [], "patch_path": f"sozialmonitor://models/marts/_{name}.yml",
    }  # fmt: skip


def _not_null_test(model: str) -> dict:
    return {
        "unique_id": f"test.sozialmonitor.not_null_{model}_id", "name": f"not_null_{model}_id",
        "resource_type": "test", "package_name": "sozialmonitor", "tags": [], "config": {}, "meta": {},
        "attached_node": f"model.sozialmonitor.{model}", "depends_on": {"nodes": [f"model.sozialmonitor.{model}"]},
        "test_metadata": {"name": "not_null", "kwargs": {"column_name": "id", "model": "{{ ref('x') }}"}},
    }  # fmt: skip


def _lint(tmp_path: Path, nodes: list[dict]) -> subprocess.CompletedProcess:
    manifest = {
        "metadata": {"project_name": "sozialmonitor"},
        "nodes": {n["unique_id"]: n for n in nodes}, "sources": {}, "macros": {}, "exposures": {},
        "semantic_models": {}, "unit_tests": {}, "metrics": {}, "saved_queries": {}, "disabled": {},
    }  # fmt: skip
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    dbt_score = Path(sys.executable).parent / "dbt-score"
    return subprocess.run(
        [str(dbt_score), "lint", "--manifest", str(path), "--show", "all", "--format", "plain"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_documented_and_tested_model_passes(tmp_path):
    result = _lint(tmp_path, [_model("fct_good", "A good model."), _not_null_test("fct_good")])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("description", "with_test", "rule"),
    [("", True, "has_description"), ("A model without a test.", False, "has_data_test")],
)
def test_a_model_without_description_or_test_fails(tmp_path, description, with_test, rule):
    nodes = [_model("fct_good", "A good model."), _not_null_test("fct_good"), _model("fct_bad", description)]
    if with_test:
        nodes.append(_not_null_test("fct_bad"))
    result = _lint(tmp_path, nodes)
    assert result.returncode != 0
    assert rule in result.stdout and "fct_bad" in result.stdout, result.stdout + result.stderr
