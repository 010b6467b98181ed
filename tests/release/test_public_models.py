"""What a release may publish, from the dbt manifest (orchestration/release/public_models.py): on a
hand-made dbt project and manifest, so that every rule is checked without building a city."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.release.public_models import (
    PublicModelsError,
    allowed_columns,
    check_tables,
    public_models,
)

COLUMNS = [("area_id", "varchar"), ("value", "double")]
SQL = "select area_id, value from {{ ref('somewhere') }}"


def _project(tmp_path: Path, models: dict[str, dict]) -> tuple[Path, Path]:
    """A dbt project with the models `models` (name -> {reviewed, contract, schema, folder_mark})
    in models/public and a manifest as dbt writes it. Returns (project dir, target dir)."""
    project, target = tmp_path / "dbt_project", tmp_path / "target"
    (project / "models" / "public").mkdir(parents=True)
    target.mkdir()
    entries, nodes = [], {}
    for name, spec in models.items():
        path = f"models/public/{name}.sql"
        (project / path).write_text(SQL + "\n", encoding="utf-8")
        config: dict = {}
        if spec.get("contract", True):
            config["contract"] = {"enforced": True}
        if spec.get("reviewed", True):
            config["meta"] = {"disclosure": "reviewed"}
        entries.append({"name": name, "config": config, "columns": [{"name": c, "data_type": t} for c, t in COLUMNS]})
        meta = {"owner": "Statistikstelle"}
        if spec.get("reviewed", True) or spec.get("folder_mark"):
            meta["disclosure"] = "reviewed"
        nodes[f"model.sozialmonitor.{name}"] = {
            "resource_type": "model",
            "package_name": "sozialmonitor",
            "name": name,
            "alias": name.removeprefix("pub_"),
            "schema": spec.get("schema", "public"),
            "original_file_path": path,
            "patch_path": "sozialmonitor://models/public/_public.yml",
            "checksum": {"name": "sha256", "checksum": hashlib.sha256(SQL.encode()).hexdigest()},
            "contract": {"enforced": spec.get("contract", True)},
            "config": {"meta": meta},
            "columns": {c: {"name": c, "data_type": t} for c, t in COLUMNS},
        }
    (project / "models" / "public" / "_public.yml").write_text(
        yaml.safe_dump({"version": 2, "models": entries}, sort_keys=False), encoding="utf-8"
    )
    manifest = {"metadata": {"project_name": "sozialmonitor"}, "nodes": nodes, "disabled": {}}
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return project, target


def _warehouse(tables: dict[str, str]):
    con = duckdb.connect()
    con.execute("attach ':memory:' as wh")
    con.execute("create schema wh.public")
    for name, columns in tables.items():
        con.execute(f"create table wh.public.{name} ({columns})")
    return con


def test_reviewed_models_with_contracts_are_the_allow_list(tmp_path):
    project, target = _project(tmp_path, {"pub_values": {}, "pub_areas": {}})
    models = public_models(project, target)
    assert allowed_columns(models) == {"values": ["area_id", "value"], "areas": ["area_id", "value"]}
    con = _warehouse({"values": "area_id varchar, value double", "areas": "area_id varchar, value double"})
    check_tables(con, "wh", ["areas", "values"], models)  # nothing to refuse


def test_a_public_model_with_a_contract_but_without_the_review_mark_is_refused(tmp_path):
    project, target = _project(tmp_path, {"pub_values": {}, "pub_secret": {"reviewed": False}})
    models = public_models(project, target)
    assert "secret" not in allowed_columns(models)
    con = _warehouse({"values": "area_id varchar, value double", "secret": "area_id varchar, value double"})
    with pytest.raises(PublicModelsError) as exc:
        check_tables(con, "wh", ["secret", "values"], models)
    message = str(exc.value)
    assert "public.secret (model pub_secret) has no disclosure-review mark" in message
    assert "meta: {disclosure: reviewed}" in message and "move the model out of the schema `public`" in message


def test_a_mark_inherited_from_a_folder_is_no_review(tmp_path):
    """`+meta: {disclosure: reviewed}` on the folder in dbt_project.yml would mark every model of
    `public`, also one added by mistake: only the model's own yml entry counts."""
    project, target = _project(tmp_path, {"pub_secret": {"reviewed": False, "folder_mark": True}})
    models = public_models(project, target)
    assert models["secret"].contract and not models["secret"].reviewed
    with pytest.raises(PublicModelsError, match="no disclosure-review mark"):
        check_tables(_warehouse({"secret": "area_id varchar, value double"}), "wh", ["secret"], models)


def test_a_reviewed_model_without_an_enforced_contract_is_refused(tmp_path):
    project, target = _project(tmp_path, {"pub_loose": {"contract": False}})
    models = public_models(project, target)
    assert allowed_columns(models) == {}
    with pytest.raises(PublicModelsError, match="no enforced dbt contract"):
        check_tables(_warehouse({"loose": "area_id varchar, value double"}), "wh", ["loose"], models)


def test_a_table_that_is_no_model_or_differs_from_its_contract_is_refused(tmp_path):
    project, target = _project(tmp_path, {"pub_values": {}})
    models = public_models(project, target)
    with pytest.raises(PublicModelsError, match=r"public\.extra is no dbt model of the manifest"):
        check_tables(_warehouse({"extra": "a integer"}), "wh", ["extra"], models)
    wider = _warehouse({"values": "area_id varchar, value double, person_key varchar"})
    with pytest.raises(PublicModelsError, match="columns not in the contract: person_key"):
        check_tables(wider, "wh", ["values"], models)
    retyped = _warehouse({"values": "area_id varchar, value varchar"})
    with pytest.raises(PublicModelsError, match="does not have the columns of its contract"):
        check_tables(retyped, "wh", ["values"], models)


def test_a_missing_manifest_is_refused_with_what_to_do(tmp_path):
    project, target = _project(tmp_path, {"pub_values": {}})
    (target / "manifest.json").unlink()
    with pytest.raises(PublicModelsError, match="there is no dbt manifest at .*Run the pipeline again"):
        public_models(project, target)
    (target / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(PublicModelsError, match="is not a dbt manifest"):
        public_models(project, target)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda p: (p / "models/public/pub_values.sql").write_text("select 1 as secret\n"), "changed since dbt"),
        (lambda p: (p / "models/public/pub_new.sql").write_text("select 1\n"), "does not know"),
        (lambda p: (p / "models/public/pub_values.sql").unlink(), "no longer exists"),
        (
            lambda p: (p / "models/public/_public.yml").write_text(
                (p / "models/public/_public.yml").read_text().replace("value\n", "value_new\n")
            ),
            "entry of pub_values",
        ),
    ],
    ids=["model changed", "model added", "model removed", "contract changed"],
)
def test_a_stale_manifest_is_refused(tmp_path, change, expected):
    project, target = _project(tmp_path, {"pub_values": {}})
    change(project)
    with pytest.raises(PublicModelsError, match=f"manifest .* is stale: .*{expected}.*Run the pipeline again"):
        public_models(project, target)


def test_a_mark_added_after_the_dbt_run_needs_a_new_run(tmp_path):
    project, target = _project(tmp_path, {"pub_values": {"reviewed": False}})
    yml = project / "models/public/_public.yml"
    document = yaml.safe_load(yml.read_text())
    document["models"][0]["config"]["meta"] = {"disclosure": "reviewed"}
    yml.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(PublicModelsError, match="is stale: .*entry of pub_values"):
        public_models(project, target)
