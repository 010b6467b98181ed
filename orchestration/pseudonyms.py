"""Pseudonymisation at ingestion: person, household and case keys are replaced by a keyed hash
(HMAC-SHA256) before they are written into the warehouse, so the warehouse never holds a key a
department could look up. The secret key comes from the environment (SOZIALMONITOR_PSEUDONYM_KEY)
or a file (SOZIALMONITOR_PSEUDONYM_KEY_FILE); it is never written into the warehouse or a release.
Only a fingerprint (an HMAC of a fixed text) is stored, so a run with another key is refused
instead of silently splitting every person into two.

The same HMAC also yields each record's key for the Cell Key Method (uniform in [0, 1), stable
across Stichtage because the person key is), computed set-based in DuckDB, never row by row in
Python."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .errors import SozialmonitorError

ENV_KEY = "SOZIALMONITOR_PSEUDONYM_KEY"
ENV_KEY_FILE = "SOZIALMONITOR_PSEUDONYM_KEY_FILE"
DEMO_KEY_FILE = Path(__file__).parent / "demo" / "demo_pseudonym.key"
PSEUDONYM_HEX = 32  # 128 bits of the HMAC name the person
# the next 28 bits give the record key, k / 2^28. Few enough that every sum of up to 2^25 (33 M)
# record keys is exact in a double: a cell key does not depend on the order in which a parallel
# sum adds them (with 52 bits, two builds of the same data differed in the 15th digit)
RECORD_KEY_HEX = 7
FINGERPRINT_TABLE = "ops.pseudonym_key"
MIN_KEY_BYTES = 16
DEMO_MARKER = ".demo-city"  # written by the demo generator (orchestration/demo/extracts.py, not imported)


class KeyMissing(SozialmonitorError):
    exit_code = 9
    headline = "Run stopped: pseudonymisation key."
    hint = "Nothing was loaded and no release was made. See docs/privacy.md, 'The pseudonymisation key'."


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes
    origin: str  # where it came from (never the key itself)

    @property
    def pads(self) -> tuple[bytes, bytes]:
        """HMAC's outer and inner padded keys (RFC 2104), so DuckDB can compute the HMAC in SQL."""
        key = self.secret if len(self.secret) <= 64 else hashlib.sha256(self.secret).digest()
        key = key.ljust(64, b"\0")
        return bytes(b ^ 0x5C for b in key), bytes(b ^ 0x36 for b in key)

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.secret, b"sozialmonitor key fingerprint", hashlib.sha256).hexdigest()[:16]

    @property
    def is_demo(self) -> bool:
        return DEMO_KEY_FILE.exists() and self.secret == DEMO_KEY_FILE.read_bytes().strip()

    def hexdigest(self, value: str) -> str:
        """Python twin of hmac_sql, for tests and one-off lookups by the statistics office."""
        return hmac.new(self.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def pseudonym(self, value: str) -> str:
        return self.hexdigest(value)[:PSEUDONYM_HEX]

    def record_key(self, value: str) -> float:
        digest = self.hexdigest(value)
        return int(digest[PSEUDONYM_HEX : PSEUDONYM_HEX + RECORD_KEY_HEX], 16) / 16**RECORD_KEY_HEX


def load_key(raw_dir: Path | None = None, environ: dict[str, str] | None = None) -> PseudonymKey:
    """The key from the environment; for a raw/ folder the demo generator marked as the demo city
    (and only then) the published demo key."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY):
        secret, origin = env[ENV_KEY].encode("utf-8"), f"${ENV_KEY}"
    elif env.get(ENV_KEY_FILE):
        path = Path(env[ENV_KEY_FILE])
        if not path.is_file():
            raise KeyMissing(f"{ENV_KEY_FILE} points at {path}, which does not exist")
        mode = path.stat().st_mode & 0o777
        if mode & 0o077 and path.resolve() != DEMO_KEY_FILE.resolve():
            raise KeyMissing(
                f"the key file {path} can be read or written by other users (mode {mode:04o}); a key others can "
                f"read protects nothing. Fix: chmod 600 {path} (and check who could have copied it)"
            )
        try:
            secret, origin = path.read_bytes().strip(), str(path)
        except OSError as exc:
            raise KeyMissing(f"the key file {path} cannot be read: {exc.strerror}") from exc
    elif raw_dir is not None and (Path(raw_dir) / DEMO_MARKER).is_file():
        secret, origin = DEMO_KEY_FILE.read_bytes().strip(), f"{DEMO_KEY_FILE} (demo city)"
    else:
        raise KeyMissing(
            "no pseudonymisation key: set SOZIALMONITOR_PSEUDONYM_KEY_FILE to a file holding the secret key "
            "(or SOZIALMONITOR_PSEUDONYM_KEY), readable only by the pipeline's user. The demo city uses "
            f"the published demo key {DEMO_KEY_FILE} by itself (raw/{DEMO_MARKER}); it protects nothing."
        )
    if len(secret) < MIN_KEY_BYTES:
        raise KeyMissing(f"the pseudonymisation key from {origin} is shorter than {MIN_KEY_BYTES} bytes")
    return PseudonymKey(secret, origin)


def demo_files(raw_dir: Path) -> dict[str, str]:
    """The files the demo generator wrote into raw/ with their SHA-256, from its marker: the only
    files the published demo key may pseudonymise."""
    marker = Path(raw_dir) / DEMO_MARKER
    if not marker.is_file():
        return {}
    files = {}
    for line in marker.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
            files[name] = digest
    return files


def hmac_sql(expression: str) -> str:
    """SQL for HMAC-SHA256(key, expression) as 64 hex digits; takes the parameters (outer, inner)."""
    return f"sha256(?::blob || unhex(sha256(?::blob || encode(cast({expression} as varchar)))))"


def record_key_sql(digest: str) -> str:
    """SQL: the record key in [0, 1) from the hex digest of hmac_sql."""
    return (
        f"cast(cast('0x' || substr({digest}, {PSEUDONYM_HEX + 1}, {RECORD_KEY_HEX}) as ubigint) as double)"
        f" / {float(16**RECORD_KEY_HEX)}"
    )


def check_fingerprint(con: duckdb.DuckDBPyConnection, key: PseudonymKey) -> None:
    """Refuse a key other than the one the warehouse's pseudonyms were made with."""
    con.execute("create schema if not exists ops")
    con.execute(f"create table if not exists {FINGERPRINT_TABLE} (fingerprint varchar, first_used timestamp)")
    row = con.execute(f"select fingerprint from {FINGERPRINT_TABLE} limit 1").fetchone()
    if row is None:
        con.execute(f"insert into {FINGERPRINT_TABLE} values (?, current_timestamp)", [key.fingerprint])
    elif row[0] != key.fingerprint:
        raise KeyMissing(
            f"the pseudonymisation key from {key.origin} is not the key this warehouse was loaded with: "
            "its pseudonyms would not match the ones already stored. Use the original key, or start a new "
            "warehouse (delete the warehouse file, and the audit proofs beside it, and run again)."
        )
