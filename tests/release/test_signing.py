"""Signed releases (issue 15, class 8): a rewritten manifest, a re-signed manifest, a swapped key, a
missing signature: each is refused by `release verify`; the office's key is made and kept safely.

Fast: the releases here are small hand-made folders finished the way publish() finishes a release
(public key, manifest with every output's checksum, signature)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.ingest.loader import sha256_file
from orchestration.release import find_release, verify
from orchestration.release.signing import (
    DEMO_FINGERPRINT,
    ENV_FINGERPRINTS,
    ENV_SIGNING_KEY,
    PUBLIC_KEY,
    SIGNATURE,
    SigningError,
    SigningKey,
    check_signature,
    demo_key,
    load_signing_key,
    normalise_fingerprint,
    read_private_key,
    sign_manifest,
    trusted_fingerprints,
    write_key_pair,
    write_public_key,
)
from orchestration.release.store import content_digest

runner = CliRunner()


def _office_key(tmp_path: Path, name: str = "office.key") -> tuple[Path, SigningKey]:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    path = keys / name
    write_key_pair(path)
    return path, read_private_key(path)


def _manifest(folder: Path, key: SigningKey) -> dict:
    tables = {"areas": {"parquet": "data/areas.csv", "sha256": sha256_file(folder / "data" / "areas.csv"), "rows": 2}}
    return {
        "release": "2024-12-31/v1",
        "public_tables": tables,
        "geo": {},
        "content_sha256": content_digest(tables, {}),
        "signature": key.describe(),
        "outputs": [
            {"path": p.relative_to(folder).as_posix(), "sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        ],
    }


def _write(folder: Path, manifest: dict, key: SigningKey) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    sign_manifest(folder, key)


def _release(tmp_path: Path, key: SigningKey) -> Path:
    """releases/2024-12-31/v1 with one data file, finished as publish() finishes a release."""
    folder = tmp_path / "releases" / "2024-12-31" / "v1"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "areas.csv").write_text("area_id;area_name\n011;Altstadt\n", encoding="utf-8")
    (folder / "LIESMICH.txt").write_text("Veröffentlichung\n", encoding="utf-8")
    write_public_key(folder, key)
    _write(folder, _manifest(folder, key), key)
    return folder


def _forge(folder: Path) -> dict:
    """What an attacker with write access does: change a published name, then make the manifest
    agree again (output checksum, table checksum, content_sha256)."""
    data = folder / "data" / "areas.csv"
    data.write_text('area_id;area_name\n011;=HYPERLINK("http://evil.example")\n', encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    digest = sha256_file(data)
    for item in manifest["outputs"]:
        if item["path"] == "data/areas.csv":
            item["sha256"], item["bytes"] = digest, data.stat().st_size
    manifest["public_tables"]["areas"]["sha256"] = digest
    manifest["content_sha256"] = content_digest(manifest["public_tables"], {})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _release_obj(tmp_path: Path):
    return find_release(tmp_path / "releases", "2024-12-31/v1")


def test_a_signed_release_verifies_against_the_published_fingerprint(tmp_path):
    _, key = _office_key(tmp_path)
    _release(tmp_path, key)
    release = _release_obj(tmp_path)
    assert verify(release, {key.fingerprint}) == []
    # people copy fingerprints in capitals, with colons or in groups
    pretty = ":".join(key.fingerprint[i : i + 4].upper() for i in range(0, 64, 4))
    assert verify(release, trusted_fingerprints([pretty], environ={})) == []
    # without a published fingerprint nobody can tell whose key it is: refused, and said how to check
    problems = verify(release)
    assert len(problems) == 1 and "--fingerprint" in problems[0] and key.fingerprint in problems[0]


def test_a_rewritten_manifest_is_refused_although_every_checksum_agrees(tmp_path):
    _, key = _office_key(tmp_path)
    folder = _release(tmp_path, key)
    _forge(folder)
    problems = verify(_release_obj(tmp_path), {key.fingerprint})
    # the checksums were made to agree: only the signature tells
    assert problems == [p for p in problems if p.startswith(SIGNATURE)]
    assert len(problems) == 1 and "manifest was changed after it was signed" in problems[0]


def test_a_manifest_re_signed_with_another_key_is_refused(tmp_path):
    _, key = _office_key(tmp_path)
    folder = _release(tmp_path, key)
    manifest = _forge(folder)
    # the attacker's own key, and its public key swapped in (listed with its new checksum)
    attacker = SigningKey(Ed25519PrivateKey.generate(), "attacker", demo=False)
    (folder / PUBLIC_KEY).unlink()
    write_public_key(folder, attacker)
    for item in manifest["outputs"]:
        if item["path"] == PUBLIC_KEY:
            item["sha256"] = sha256_file(folder / PUBLIC_KEY)
    manifest["signature"] = attacker.describe()
    _write(folder, manifest, attacker)
    problems = verify(_release_obj(tmp_path), {key.fingerprint})
    assert len(problems) == 1 and "not one of the published fingerprints" in problems[0]
    assert attacker.fingerprint in problems[0]


def test_the_public_demo_key_is_accepted_only_where_no_fingerprint_is_published(tmp_path):
    _, key = _office_key(tmp_path)
    folder = _release(tmp_path, key)
    manifest = _forge(folder)
    # re-signed with the demo key, which anyone can compute
    (folder / PUBLIC_KEY).unlink()
    write_public_key(folder, demo_key())
    for item in manifest["outputs"]:
        if item["path"] == PUBLIC_KEY:
            item["sha256"] = sha256_file(folder / PUBLIC_KEY)
    _write(folder, manifest, demo_key())
    problems = verify(_release_obj(tmp_path), {key.fingerprint})
    assert len(problems) == 1 and "published demo signing key" in problems[0]
    # the demo city (no fingerprint given) accepts it, and the CLI says what that proves
    assert verify(_release_obj(tmp_path)) == []
    env = {"SOZIALMONITOR_RELEASES_DIR": str(tmp_path / "releases")}
    result = runner.invoke(app, ["release", "verify", "2024-12-31/v1"], env=env)
    assert result.exit_code == 0, result.output
    assert "DEMO key" in result.output and "not who made them" in result.output
    result = runner.invoke(app, ["release", "verify", "2024-12-31/v1", "--fingerprint", key.fingerprint], env=env)
    assert result.exit_code == 1 and "demo signing key" in result.output


def test_a_missing_or_broken_signature_or_key_is_refused(tmp_path):
    _, key = _office_key(tmp_path)
    folder = _release(tmp_path, key)
    release = _release_obj(tmp_path)
    good = (folder / SIGNATURE).read_bytes()

    (folder / SIGNATURE).unlink()
    problems = verify(release, {key.fingerprint})
    assert problems == [f"{SIGNATURE} is missing: the release is not signed, so nobody can tell who made it"]

    (folder / SIGNATURE).write_bytes(b"not base64 at all!\n")
    assert any("signature does not match" in p for p in verify(release, {key.fingerprint}))

    flipped = bytearray(base64.b64decode(good))
    flipped[10] ^= 1
    (folder / SIGNATURE).write_bytes(base64.b64encode(bytes(flipped)) + b"\n")
    assert any("signature does not match" in p for p in verify(release, {key.fingerprint}))

    (folder / SIGNATURE).write_bytes(good)
    assert verify(release, {key.fingerprint}) == []
    # a manifest changed by one byte only (a space) no longer matches its signature
    text = (folder / "manifest.json").read_text(encoding="utf-8")
    (folder / "manifest.json").write_text(text.replace("\n", " \n", 1), encoding="utf-8")
    assert any("signature does not match" in p for p in verify(release, {key.fingerprint}))
    (folder / "manifest.json").write_text(text, encoding="utf-8")

    (folder / PUBLIC_KEY).write_text("-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n")
    problems = verify(release, {key.fingerprint})
    assert any(p.startswith(f"{PUBLIC_KEY}: checksum") for p in problems)
    assert any("not a PEM public key" in p for p in problems)
    (folder / PUBLIC_KEY).unlink()
    assert any(f"{PUBLIC_KEY} is missing" in p for p in verify(release, {key.fingerprint}))


def test_signatures_are_deterministic_so_releases_stay_byte_identical(tmp_path):
    _, key = _office_key(tmp_path)
    a = _release(tmp_path / "a", key)
    b = _release(tmp_path / "b", key)
    for name in ("manifest.json", SIGNATURE, PUBLIC_KEY):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert demo_key().fingerprint == DEMO_FINGERPRINT == demo_key().fingerprint


def test_fingerprints_are_read_as_people_write_them(tmp_path):
    fp = "ab" * 32
    assert normalise_fingerprint(" AB" * 32) == fp
    assert normalise_fingerprint("ABAB ABAB-" * 8) == fp
    for bad in ("", "ab" * 31, "zz" * 32, "ab" * 33):
        with pytest.raises(SigningError, match="not a fingerprint"):
            normalise_fingerprint(bad)
    listing = tmp_path / "fingerprints.txt"
    listing.write_text(f"# published keys of the Statistikstelle\n{'cd' * 32}  2025-01-01 key 1\n\n{fp} # key 2\n")
    assert trusted_fingerprints([], environ={ENV_FINGERPRINTS: str(listing)}) == {"cd" * 32, fp}
    with pytest.raises(SigningError, match="cannot read"):
        trusted_fingerprints([], environ={ENV_FINGERPRINTS: str(tmp_path / "missing.txt")})
    # the office's own key (SOZIALMONITOR_SIGNING_KEY set) is trusted on its own machine
    path, key = _office_key(tmp_path)
    assert trusted_fingerprints([], environ={ENV_SIGNING_KEY: str(path)}) == {key.fingerprint}


def test_the_office_key_is_refused_when_others_can_read_it_or_it_is_no_ed25519_key(tmp_path):
    path, key = _office_key(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(tmp_path / "raw", environ={ENV_SIGNING_KEY: str(path)}).fingerprint == key.fingerprint
    for mode in (0o644, 0o640, 0o604):
        path.chmod(mode)
        with pytest.raises(SigningError, match="can be read by others"):
            read_private_key(path)
    path.chmod(0o600)
    with pytest.raises(SigningError, match="not a file"):
        read_private_key(tmp_path / "nowhere.key")
    other = tmp_path / "keys" / "ec.key"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    other.chmod(0o600)
    with pytest.raises(SigningError, match="not an Ed25519 key"):
        read_private_key(other)
    garbage = tmp_path / "keys" / "garbage.key"
    garbage.write_text("hello\n")
    garbage.chmod(0o600)
    with pytest.raises(SigningError, match="not an unencrypted PEM private key"):
        read_private_key(garbage)
    demo = tmp_path / "keys" / "demo.key"
    demo.write_bytes(
        demo_key().private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    demo.chmod(0o600)
    with pytest.raises(SigningError, match="demo signing key"):
        read_private_key(demo)


def test_the_demo_key_signs_only_the_demo_city(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with pytest.raises(SigningError, match="no signing key"):
        load_signing_key(raw, environ={})
    (raw / ".demo-city").write_text("demo")
    assert load_signing_key(raw, environ={}).demo
    # real extracts (a real pseudonymisation key) are never signed with the demo key
    secret = tmp_path / "pseudonym.key"
    secret.write_bytes(os.urandom(32).hex().encode())
    secret.chmod(0o600)
    with pytest.raises(SigningError, match="no signing key"):
        load_signing_key(raw, environ={"SOZIALMONITOR_PSEUDONYM_KEY_FILE": str(secret)})


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path):
    target = tmp_path / "keys" / "signing.key"
    target.parent.mkdir()
    env = {"SOZIALMONITOR_PROJECT_DIR": str(tmp_path / "project")}
    result = runner.invoke(app, ["release", "keygen", str(target)], env=env)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    key = read_private_key(target)
    assert f"Fingerprint to publish: {key.fingerprint}" in result.output
    public = serialization.load_pem_public_key(Path(f"{target}.pub").read_bytes())
    assert public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == key.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    before = target.read_bytes()
    # never overwritten, never inside the repository, never into a folder that does not exist
    again = runner.invoke(app, ["release", "keygen", str(target)], env=env)
    assert again.exit_code == 1 and "never overwritten" in again.output and target.read_bytes() == before
    inside = tmp_path / "project" / "signing.key"
    inside.parent.mkdir()
    refused = runner.invoke(app, ["release", "keygen", str(inside)], env=env)
    assert refused.exit_code == 1 and "never be committed" in refused.output and not inside.exists()
    missing = runner.invoke(app, ["release", "keygen", str(tmp_path / "nope" / "k")], env=env)
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_publish_refuses_before_any_work_without_a_signing_key(tmp_path, monkeypatch):
    from orchestration.release import ReleaseRefused
    from tests.helpers import settings_for

    settings = settings_for(tmp_path)
    settings.raw_dir.mkdir(parents=True)
    monkeypatch.delenv(ENV_SIGNING_KEY, raising=False)
    monkeypatch.delenv("SOZIALMONITOR_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("SOZIALMONITOR_PSEUDONYM_KEY_FILE", raising=False)
    import orchestration.pipeline as pipeline

    monkeypatch.setattr(pipeline, "GatesBeside", lambda _s: pytest.fail("gates ran although nothing can be signed"))
    with pytest.raises(ReleaseRefused, match="no signing key"):
        pipeline.gate_and_publish(settings)
    assert not settings.releases_dir.exists() or not any(settings.releases_dir.iterdir())


def test_check_signature_names_the_key_of_a_good_release(tmp_path):
    _, key = _office_key(tmp_path)
    folder = _release(tmp_path, key)
    check = check_signature(folder, {key.fingerprint})
    assert check.ok and check.fingerprint == key.fingerprint and not check.demo
