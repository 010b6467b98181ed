"""The generator's layout: one module per department source, together covering every source
contract; a small city whose files and frames are pinned to the bytes, so that a restructuring of
the generator (or a library upgrade) that changes its output is noticed; the marker names the
warehouse recognises without importing the generator."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pandas as pd
import yaml

from orchestration import pipeline, pseudonyms
from orchestration.demo import DemoConfig, Simulation, extracts, generate, simulate
from orchestration.demo.sources import SOURCES

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "orchestration" / "contracts"
# two Stichtage on either side of every deliberate change of layout (2021/2022/2023)
PINNED = DemoConfig(residents=1500, stichtage=("2020-12-31", "2023-12-31"))
# sha256 of every file generate(PINNED) writes, recorded with the generator before it was split
# per source (commit 0b38651). If a change of the output is intended, regenerate these values and
# say why in the commit: the same configuration must give byte-identical files.
PINNED_FILES = {
    ".demo-city": "e1bdb45378aa188e9f55f375001929729965c80f462838cd303f36498b413d2e",
    "arbeitsagentur/BA_Arbeitsmarkt_Baublock_202012.xlsx": "0becc48785452c7f8b41b64e40e142434baaea47616fc377bcec261e31785185",  # noqa: E501
    "arbeitsagentur/BA_Arbeitsmarkt_Baublock_202312.xlsx": "742328783b10324a72e03c42d1ba4a94b2dc075b6b2ade640a8b38c080ef8598",  # noqa: E501
    "bewegungen/EWR_Bewegungen_2020.csv": "5ca8209779b7ecb8aa1d868ff80037b5369875efa9e6ce0184147066c0fd2091",
    "bewegungen/EWR_Bewegungen_2023.csv": "18186d758343aab2ab4d88d11decec6107e2e4e3959e51ed602d24d900e59d75",
    "einwohner/EWR_Bestand_20201231.csv": "de8b97208ad1256dace71c5fb583a27d6d6f52d6b6796c673e8a0f8c5e91d6ae",
    "einwohner/EWR_Bestand_20231231.csv": "7009d848f007d84f7f613a3ee03de7ebfee7b5d23b55851eefc36f805520b3c9",
    "gebiete/adressen.csv": "7a30a1eab135e284457128c22a07db7c766e464878eaa3ccca8bc989e8554e1a",
    "gebiete/baublock_zuordnung.csv": "a43cf95dd9f721dd9f6b24ecb218733ca7e428811ba5ca3d26a0866647ed7626",
    "gebiete/baubloecke.geojson": "66f9bd65d5f125afea69103a568b3b1262ce966a1bbc20686312da542355dd9f",
    "gebiete/gebietsgliederung.csv": "47357f935313b85e3ce1029fa8fc7393140d28f8eeda26b77baaa52c6750b2cf",
    "gesundheitsamt/SEU_Einschulung_2020.csv": "6a664cdc9429a225908910a066e70efe1d2a98e7dcebd51f41248adbc88389ca",
    "gesundheitsamt/SEU_Einschulung_2023.csv": "bde5bcd6bde2340c379bcfe72f27e782cd8b0512f9c514549ef03e2d43241c2b",
    "jobcenter/JC_SGB2_Personen_20201231.csv": "b715944747c69047a2f39becdc604b889ce5920cdd8f57ecd6ff0662508bb483",
    "jobcenter/JC_SGB2_Personen_20231231.csv": "4057aa26ecea6f0e74d0ece7d83a91ceaa9cd50c2636c152bfd627e6e96b6048",
    "jugendamt/Kita_Belegung_20201231.csv": "c509705935a939d90d198337271bf7130b06e3765ca04af9580fbcab1cb13b73",
    "jugendamt/Kita_Belegung_20231231.csv": "318e2403d6a67117781ce5416a4622554c3eac4c715478c2d6379e7e414e187d",
    "planung/Wohnungsbestand_Stadtviertel_2020.csv": "48050a8dd252597029ab5eece6b9343e193bec8a24a28aa84896b38e64425a93",
    "planung/Wohnungsbestand_Stadtviertel_2023.csv": "1f9dc3dd77ad9e129d9e696b0d13733c1de0128c2815094658dbe39526361273",
    "schulamt/Uebergaenge_Sek1_2020.csv": "f4d5b00fd2836500d31817be2d8d12409c336977c1047a5450917051665d8bd9",
    "schulamt/Uebergaenge_Sek1_2023.csv": "01ca517f748ce5499c51bbc20c2e9486c0f7ef39e5ad596b01ebf8bee76db472",
    "sozialamt/SGB12_Faelle_20201231.xlsx": "b4116f7542c94c73a618b2f34edb387e00e1510059e56b2f4970fdaf51a50bec",
    "sozialamt/SGB12_Faelle_20231231.xlsx": "a1de429fb43eba0ede606147f69a95f4942982066e45c17280c91198c9145943",
    "umwelt/Umwelt_Baublock_2020.csv": "ca99dad121878a8dfd97b9f63a6072e8a93a3bdd0db379f3ba95fefd81455762",
    "umwelt/Umwelt_Baublock_2023.csv": "a195caf51ec79ae5c375bb965dbc5e8b8fc5ccf18867541ace49e46b7ea69e0a",
    "wohngeld/Wohngeld_20201231.csv": "ae8647f220591532cbe79c9816cca8899f05dc71676d01a58016f43aee59187d",
    "wohngeld/Wohngeld_20231231.csv": "9de3cde2f68d95359b8da756ba4290d96186b5274ce5636b80f61b99ab5514e2",
}
# sha256 over each frame's dtypes and pandas' row hashes (floats to 10 significant digits), recorded
# with the generator of commit c055268
PINNED_FRAMES = {
    "blocks": "7718f157e3391e071986fcf8bd8025304ae22836d2fc7ce4c85d53aded615c2f",
    "areas": "7520eac29f6946340783aeffc0e180fc9a46b5f97daec2d9a399e7b275ba1250",
    "membership": "2607ed11c9d5f431a7c4e731a2d1bf9d8e26e66cce24942866c121b48a92bd3b",
    "addresses": "e1bea0e6673ce1e46c6cd2d0ec0851676ff3c0bc26a1cf033eb45f0b31aae97e",
    "unregistered_addresses": "44b1697cd9f4eb90a83bc7ca6ca7880f90f9402b4de4fd281ca0579a9dc23b24",
    "persons": "d7be67743f84c4e873555bb84f01617c1449b815b42126e67f227a0c09be8aaf",
    "movements": "b112b16e08f5d2a8e064e31b42ce065a361b929301e8a6313144c702d781da1a",
    "sgb2": "9e2d1493bedafd2d94cc955696b849366e3b993a69b6e2ab8efb2b6aba0240d2",
    "sgb12": "ee145ae474ac34344fd0702b3908d25f0250ebdaf2f0ca214aeeec2a816ca4e9",
    "wohngeld": "f833f1b7829a718f6a3f3fe5a15a389034734ea2dec052e8cb50d5f5b1969133",
    "unemployment": "75674402cbecb89d485c60346eafa373871590dd1467d218854d3b2f137ccb30",
    "school_entry": "1815ac7137d0fd3a636933c6459ad48d3843b8737ead34559c3875d5e6dc0dc6",
    "daycare": "a5364b3e3eaa747c0ff2fcd82bb49c7428474699dab7b64a8d710a36494cdcc8",
    "school_transitions": "d6d79e3535b51503fada40af7575cbe55c81a20b40b3e69a4459bf036c435521",
    "housing_blocks": "53b723ddae79ad0b646437d61c302dd55e042f4fb2b7e3e7234a98a078713349",
    "housing": "ce61203daf7ccfa2002d14bc91c68d5eb247285ae8892f2c1b706087556c5f44",
    "environment": "c16915f2e5f928001271bd42d42685f3c2fb38d173cfb8c8c2e7674d9e959f48",
}


def test_every_source_contract_has_exactly_one_source_module():
    contracts = sorted(yaml.safe_load(p.read_text(encoding="utf-8"))["source"] for p in CONTRACTS_DIR.glob("*.yml"))
    claimed = sorted(c for module in SOURCES for c in module.CONTRACTS)
    assert claimed == contracts


def test_every_frame_of_the_simulation_has_exactly_one_source_module():
    fields = {f.name for f in dataclasses.fields(Simulation)} - {"config", "raw"}
    sim = simulate(PINNED)
    built = [name for module in SOURCES for name in module.truth(sim.raw, _labels(sim), _streams())]
    assert sorted(built) == sorted(fields)


def test_a_small_city_is_byte_identical_to_the_recorded_one(tmp_path):
    generate(tmp_path, PINNED)
    files = {
        p.relative_to(tmp_path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(tmp_path.rglob("*"))
        if p.is_file()
    }
    assert files == PINNED_FILES


def test_a_20k_city_is_byte_identical_to_the_recorded_one(tmp_path):
    # the Gemeinde identity (AGS, code prefix, coordinate offset, levels) that lets one Stadt of a Kreis
    # be simulated with Kreis-unique codes must leave the single demo city's files untouched: recorded
    # before it was introduced
    recorded = json.loads((Path(__file__).with_name("musterstadt_20k_sha256.json")).read_text(encoding="utf-8"))
    generate(tmp_path, DemoConfig(residents=20_000, seed=424242))
    files = {
        p.relative_to(tmp_path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(tmp_path.rglob("*"))
        if p.is_file()
    }
    assert files == recorded


def _to_ten_digits(frame: pd.DataFrame) -> pd.DataFrame:
    """Floating-point columns as text with 10 significant digits. numpy's exp, log and sin take other
    code paths on other processors (with or without AVX-512) and may differ in the last bit, which
    the files (written with far fewer digits) never show: the Baublöcke's frame hashed differently
    on two machines of this kind, with every file byte-identical."""
    floats = [c for c, t in frame.dtypes.items() if pd.api.types.is_float_dtype(t)]
    return frame.assign(**{c: frame[c].map(lambda v: f"{v:.10g}") for c in floats})


def test_the_frames_of_a_small_city_are_identical_to_the_recorded_ones():
    sim = simulate(PINNED)
    frames = {}
    for name in PINNED_FRAMES:
        frame = getattr(sim, name)
        digest = hashlib.sha256(repr([(c, str(t)) for c, t in frame.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(_to_ten_digits(frame), index=True).to_numpy().tobytes())
        frames[name] = digest.hexdigest()
    assert frames == PINNED_FRAMES


def test_the_warehouse_recognises_the_generators_markers_without_importing_it():
    # the pipeline and the ingestion keep their own copy of the names (they must not import
    # orchestration.demo, see pyproject.toml [tool.importlinter]); here the copies are held equal
    assert pseudonyms.DEMO_MARKER == extracts.DEMO_MARKER
    assert pipeline.GENERATING_MARKER == extracts.GENERATING_MARKER


def _labels(sim: Simulation):
    from orchestration.demo.frames import Labels

    return Labels(sim.raw)


def _streams():
    from orchestration.demo.streams import Streams

    return Streams(PINNED.seed)
