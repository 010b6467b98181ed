"""Vermessungs- und Katasteramt / Statistikstelle: the spatial reference (contracts geo_addresses,
geo_areas, geo_block_membership, geo_block_polygons).

Truth: `blocks`, `areas`, `membership`, `addresses`, `unregistered_addresses`. Files, written once
(not per Stichtag): gebiete/adressen.csv, gebietsgliederung.csv, baublock_zuordnung.csv (UTF-8, ';',
LF) and gebiete/baubloecke.geojson (EPSG:25832).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import BASE_VALID_FROM
from ..files import german_date, german_decimal, write_csv
from ..frames import Labels
from ..geography import Geography, areas_frame, membership_frame

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

# orchestration/contracts/*.yml
CONTRACTS = ("geo_addresses", "geo_areas", "geo_block_membership", "geo_block_polygons")

# fmt: off
ADDRESS_HEADERS = [
    "Adress_ID", "Strassenschluessel", "Strassenname", "Hausnummer", "Zusatz", "Baublock", "PLZ",
    "Rechtswert", "Hochwert", "Gueltig_ab", "Gueltig_bis",
]
AREA_HEADERS = ["Ebene", "Schluessel", "Name", "Oberbezirk", "Gueltig_ab", "Gueltig_bis"]
MEMBERSHIP_HEADERS = ["Baublock", "Ebene", "Schluessel", "Gueltig_ab", "Gueltig_bis"]
# fmt: on

CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    g = raw.geo
    return {
        "blocks": blocks(g, labels),
        "areas": areas_frame(g),
        "membership": membership_frame(g),
        "addresses": addresses(g, labels, registered=True),
        "unregistered_addresses": addresses(g, labels, registered=False),
    }


def blocks(g: Geography, labels: Labels) -> pd.DataFrame:
    # a level the Gemeinde does not have is None (its internal tiles are never published)
    v = np.array(g.viertel_codes if g.gemeinde.stadtviertel else [None] * len(g.viertel_codes), dtype=object)
    bezirke = np.array(g.bezirk_codes if g.gemeinde.stadtbezirke else [None] * len(g.bezirk_codes), dtype=object)
    centroid = g.polygons[:, :4, :].mean(1)
    return pd.DataFrame(
        {
            "block_code": labels.block,
            "stadtviertel_code_before": v[g.viertel_before],
            "stadtviertel_code_after": v[g.viertel_after],
            "stadtteil_code": np.array(g.stadtteil_codes, dtype=object)[g.stadtteil],
            "stadtbezirk_code": bezirke[g.bezirk],
            "sozialraum_code": np.array(g.sozialraum_codes, dtype=object)[g.sozialraum],
            "residential": g.residential,
            "postcode": g.postcode.astype(str).astype(object),
            "x": centroid[:, 0],
            "y": centroid[:, 1],
            "poverty": g.poverty,
            "age_profile": g.age_profile,
            "foreign_share": g.foreign_share,
            "density": g.density,
        }
    ).sort_values("block_code", kind="stable", ignore_index=True)


def addresses(g: Geography, labels: Labels, registered: bool) -> pd.DataFrame:
    """The address register, or (`registered=False`) the addresses it lacks."""
    idx = np.arange(g.n_real_addresses) if registered else np.arange(g.n_real_addresses, len(g.addr_street))
    suffix = g.addr_suffix[idx]
    frame = pd.DataFrame(
        {
            "address_id": labels.address[idx],
            "street_key": labels.street_key[g.addr_street[idx]],
            "street_name": g.street_names[g.addr_street[idx]],
            "house_number": g.addr_number[idx],
            "house_number_suffix": np.where(suffix > 0, labels.suffix[np.maximum(suffix - 1, 0)], None),
            "block_code": np.where(g.addr_block[idx] >= 0, labels.block[np.maximum(g.addr_block[idx], 0)], None),
            "postcode": g.addr_postcode[idx].astype(str).astype(object),
            "x": g.addr_x[idx],
            "y": g.addr_y[idx],
            "valid_from": np.datetime64(BASE_VALID_FROM.isoformat(), "s"),
            "valid_to": np.datetime64("NaT", "s"),
        }
    )
    return frame


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    return write_geography(out / "gebiete", sim)


def write_geography(folder: Path, sim: Simulation) -> list[Path]:
    g = sim.raw.geo
    paths = [
        write_csv(folder / "adressen.csv", addresses_table(sim.addresses), "utf-8", "\n"),
        write_csv(folder / "gebietsgliederung.csv", areas_table(sim.areas), "utf-8", "\n"),
        write_csv(folder / "baublock_zuordnung.csv", membership_table(sim.membership), "utf-8", "\n"),
    ]
    paths.append(write_polygons(folder / "baubloecke.geojson", g.block_codes, g.polygons))
    return paths


def addresses_table(a: pd.DataFrame) -> pd.DataFrame:
    """The address register's file columns from the `addresses` frame."""
    return pd.DataFrame(
        {
            "Adress_ID": a["address_id"],
            "Strassenschluessel": a["street_key"],
            "Strassenname": a["street_name"],
            "Hausnummer": a["house_number"],
            "Zusatz": a["house_number_suffix"],
            "Baublock": a["block_code"],
            "PLZ": a["postcode"],
            "Rechtswert": german_decimal(a["x"], thousands=False),
            "Hochwert": german_decimal(a["y"], thousands=False),
            "Gueltig_ab": german_date(a["valid_from"]),
            "Gueltig_bis": german_date(a["valid_to"]),
        }
    )


def areas_table(ar: pd.DataFrame) -> pd.DataFrame:
    """The Gebietsgliederung's file columns from the `areas` frame; a Kreis's frame has a column
    parent_level, written as Oberebene after Oberbezirk."""
    columns = {
        "Ebene": ar["level"],
        "Schluessel": ar["area_code"],
        "Name": ar["area_name"],
        "Oberbezirk": ar["parent_code"],
    }
    if "parent_level" in ar:
        columns["Oberebene"] = ar["parent_level"]
    return pd.DataFrame(
        columns | {"Gueltig_ab": german_date(ar["valid_from"]), "Gueltig_bis": german_date(ar["valid_to"])}
    )


def membership_table(m: pd.DataFrame) -> pd.DataFrame:
    """The Baublock membership's file columns from the `membership` frame."""
    return pd.DataFrame(
        {
            "Baublock": m["block_code"],
            "Ebene": m["level"],
            "Schluessel": m["area_code"],
            "Gueltig_ab": german_date(m["valid_from"]),
            "Gueltig_bis": german_date(m["valid_to"]),
        }
    )


def write_polygons(path: Path, codes: np.ndarray, polygons: np.ndarray) -> Path:
    """The Baublock polygons (closed rings, EPSG:25832) as GeoJSON, ordered by Baublock code."""
    order = np.argsort(codes, kind="stable")
    rings = np.round(polygons, 2)
    features = [
        {
            "type": "Feature",
            "properties": {"Baublock": codes[b]},
            "geometry": {"type": "Polygon", "coordinates": [rings[b].tolist()]},
        }
        for b in order
    ]
    collection = {"type": "FeatureCollection", "name": "baubloecke", "crs": CRS, "features": features}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return path
