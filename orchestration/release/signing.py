"""Signed releases: who made a release, not only whether its files match its manifest.

The manifest lists the SHA-256 of every file of a release, so a changed file is found by
`release verify`. But whoever can change a file can also rewrite the manifest. So every release's
`manifest.json` is signed with Ed25519 (RFC 8032):

- the office's **private signing key** lives outside the repository and outside every release, in
  a file named by `SOZIALMONITOR_SIGNING_KEY` (PEM, PKCS#8, readable by the pipeline's user only);
  `sozialmonitor release keygen PATH` makes one;
- each release ships the **public key** (`signing_key.pub`, listed in the manifest like every file)
  and the signature of the manifest's bytes (`manifest.sig`, base64);
- the office **publishes the key's fingerprint** (SHA-256 of the 32-byte public key, 64 hex digits)
  somewhere else: its web site, the Amtsblatt. `release verify --fingerprint HEX` (or a file of
  published fingerprints in `SOZIALMONITOR_SIGNING_FINGERPRINTS`) checks that the release was signed
  by that key. A rewritten manifest breaks the signature; a manifest re-signed with another key
  has another fingerprint.

Ed25519 signatures are deterministic: the same manifest and key give the same bytes, so releases
stay byte-identical for the same inputs.

The demo city (Musterstadt, data pseudonymised with the published demo key) is signed with the
**demo signing key**, derived below from a published text: everyone can compute it, so a demo
release's signature proves nothing about who made it. It is accepted by `release verify` only when
no published fingerprint is given, and it is never used for data pseudonymised with a real key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import SozialmonitorError

ENV_SIGNING_KEY = "SOZIALMONITOR_SIGNING_KEY"  # path of the office's private key (PEM)
ENV_FINGERPRINTS = "SOZIALMONITOR_SIGNING_FINGERPRINTS"  # path of a file of published fingerprints
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "signing_key.pub"
ALGORITHM = "Ed25519"
# The demo signing key: the SHA-256 of this text is its private key. Published on purpose.
DEMO_SEED_TEXT = b"Sozialmonitor DEMO signing key for the demo city Musterstadt: published, protects nothing"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class SigningError(SozialmonitorError):
    exit_code = 1  # release keygen / verify; publishing turns it into ReleaseRefused (6)


def fingerprint_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    origin: str  # where it came from (never the key itself)
    demo: bool

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.private.public_key())

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def describe(self) -> dict[str, Any]:
        """What the manifest says about the signature (the signature itself cannot be in it)."""
        return {
            "algorithm": ALGORITHM,
            "signed_file": "manifest.json",
            "signature": SIGNATURE,
            "public_key": PUBLIC_KEY,
            "fingerprint": self.fingerprint,
            "demo_key": self.demo,
        }


def demo_key() -> SigningKey:
    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(DEMO_SEED_TEXT).digest())
    return SigningKey(private, "the published demo signing key (demo city)", demo=True)


DEMO_FINGERPRINT = fingerprint_of(demo_key().private.public_key())


def read_private_key(path: Path) -> SigningKey:
    """The office's key from `path`: a PEM Ed25519 private key readable by its owner only."""
    if not path.is_file():
        raise SigningError(f"{ENV_SIGNING_KEY} points at {path}, which is not a file")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SigningError(
            f"the signing key {path} can be read by others (mode {mode:04o}): whoever reads it can sign "
            f"releases in the office's name. Make it readable by the pipeline's user only: chmod 600 {path}"
        )
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(
            f"{path} is not an unencrypted PEM private key ({exc}); make one with `sozialmonitor release keygen`"
        ) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningError(f"{path} holds a {type(private).__name__}, not an Ed25519 key")
    key = SigningKey(private, str(path), demo=False)
    if key.fingerprint == DEMO_FINGERPRINT:
        raise SigningError(f"{path} holds the published demo signing key: it cannot sign a real release")
    return key


def load_signing_key(raw_dir: Path, environ: Mapping[str, str] | None = None) -> SigningKey:
    """The key that signs a release of the warehouse fed from `raw_dir`: the office's key from
    SOZIALMONITOR_SIGNING_KEY; without it, the demo key, but only where the extracts were
    pseudonymised with the published demo pseudonymisation key (the demo city)."""
    from ..pseudonyms import KeyMissing, load_key

    env = os.environ if environ is None else environ
    if env.get(ENV_SIGNING_KEY):
        return read_private_key(Path(env[ENV_SIGNING_KEY]))
    try:
        demo_city = load_key(raw_dir, environ=dict(env)).is_demo
    except KeyMissing:
        demo_city = False
    if demo_city:
        return demo_key()
    raise SigningError(
        f"no signing key: set {ENV_SIGNING_KEY} to the office's private signing key (a file outside the "
        "repository, readable only by the pipeline's user). Make one with `sozialmonitor release keygen PATH` "
        "and publish its fingerprint (docs/privacy.md, 'Signed releases'). Nothing was published."
    )


def write_key_pair(path: Path) -> str:
    """A new Ed25519 key: the private key to `path` (mode 0600, never overwritten), the public key
    to `path`.pub. Returns the fingerprint to publish."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = Path(f"{path}.pub")
    if public.exists():
        raise SigningError(f"{public} exists already; choose another name (keys are never overwritten)")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise SigningError(f"{path} exists already; keys are never overwritten (rotate: docs/privacy.md)") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)  # whatever the umask said
    public.write_bytes(public_pem(private.public_key()))
    return fingerprint_of(private.public_key())


def sign_manifest(folder: Path, key: SigningKey, manifest_name: str = "manifest.json") -> None:
    signature = key.sign((folder / manifest_name).read_bytes())
    (folder / SIGNATURE).write_bytes(base64.b64encode(signature) + b"\n")


def write_public_key(folder: Path, key: SigningKey) -> None:
    (folder / PUBLIC_KEY).write_bytes(public_pem(key.private.public_key()))


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as people copy it (upper case, colons, spaces, groups) → 64 lower-case hex digits."""
    value = re.sub(r"[\s:.-]", "", text).lower()
    if not _HEX64.match(value):
        raise SigningError(f"{text!r} is not a fingerprint: expected 64 hexadecimal digits (SHA-256 of the public key)")
    return value


def trusted_fingerprints(given: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> set[str]:
    """The fingerprints a release may be signed with: given on the command line, listed in the file
    SOZIALMONITOR_SIGNING_FINGERPRINTS (one per line, '#' starts a comment), and the office's own
    key when SOZIALMONITOR_SIGNING_KEY is set."""
    env = os.environ if environ is None else environ
    out = {normalise_fingerprint(f) for f in given}
    if env.get(ENV_FINGERPRINTS):
        path = Path(env[ENV_FINGERPRINTS])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SigningError(f"{ENV_FINGERPRINTS}: cannot read {path}: {exc}") from exc
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line:
                out.add(normalise_fingerprint(line.split()[0]))
    if env.get(ENV_SIGNING_KEY):
        out.add(read_private_key(Path(env[ENV_SIGNING_KEY])).fingerprint)
    return out


@dataclass
class SignatureCheck:
    problems: list[str]
    fingerprint: str | None = None
    demo: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def check_signature(
    folder: Path, trusted: set[str] | None = None, manifest_name: str = "manifest.json"
) -> SignatureCheck:
    """Check the release in `folder`: the manifest's signature against the public key shipped in the
    release, and that key against the trusted fingerprints. With no trusted fingerprint at all,
    only the published demo key is accepted (the demo city; it proves nothing about the origin)."""
    trusted = trusted or set()
    sig_path, key_path = folder / SIGNATURE, folder / PUBLIC_KEY
    if not sig_path.is_file():
        return SignatureCheck([f"{SIGNATURE} is missing: the release is not signed, so nobody can tell who made it"])
    if not key_path.is_file():
        return SignatureCheck([f"{PUBLIC_KEY} is missing: the signature cannot be checked"])
    try:
        public = serialization.load_pem_public_key(key_path.read_bytes())
    except ValueError as exc:
        return SignatureCheck([f"{PUBLIC_KEY} is not a PEM public key ({exc})"])
    if not isinstance(public, Ed25519PublicKey):
        return SignatureCheck([f"{PUBLIC_KEY} is not an Ed25519 key"])
    fingerprint = fingerprint_of(public)
    demo = fingerprint == DEMO_FINGERPRINT
    check = SignatureCheck([], fingerprint, demo)
    try:
        signature = base64.b64decode(sig_path.read_bytes().strip(), validate=True)
        public.verify(signature, (folder / manifest_name).read_bytes())
    except (InvalidSignature, binascii.Error, ValueError):
        check.problems.append(
            f"{SIGNATURE}: the signature does not match {manifest_name}: the manifest was changed after it was "
            "signed (or the signature or public key was replaced)"
        )
    if fingerprint in trusted:
        pass
    elif demo and not trusted:
        pass  # the demo city: accepted, and said so by the caller
    elif demo:
        check.problems.append(
            "signed with the published demo signing key, which anyone can use: not one of the published "
            "fingerprints given"
        )
    elif trusted:
        check.problems.append(
            f"signed with the key {fingerprint}, which is not one of the published fingerprints given: "
            "the release was not signed by the office (or by a key it has not published)"
        )
    else:
        check.problems.append(
            f"signed with the key {fingerprint}; to know that this is the office's key, compare it with the "
            f"fingerprint the office published: release verify --fingerprint HEX (or {ENV_FINGERPRINTS})"
        )
    return check
