"""dbt's Jinja templates compiled once per source, not once per dbt invocation.

dbt renders every node's SQL and every macro from a Jinja template, and Jinja turns each template's
source into Python code (parse, generate, compile) before it runs it. dbt keeps the macros' templates
for the life of a process, but compiles every node's SQL again on each invocation, and a new process
(`sozialmonitor run`, the release's lineage docs, Dagster's dbt child) compiles everything again:
on the test city, 467 distinct sources per build, 0.86 s of a 17 s build's CPU on one thread, and
about 1 s of the lineage docs' 12 s.

`compiled_templates_kept(folder)` keeps the code Jinja compiles for dbt's environments, under the
SHA-256 of everything the code depends on (`_key`): the source, the template's name, Jinja's,
dbt-common's and Python's versions, and the environment's shape (its class and code generator, the
delimiters and whitespace settings, the extensions, the filters and tests with what each is handed,
the compiler policies). An environment with a setting the key does not cover (a callable autoescape
or finalize) is compiled as before. The code is the same code Jinja would make for that key:
the templates render what they rendered before (tests/orchestration/test_dbt_templates.py renders
the project's nodes both ways).

Kept in this process, and in `folder` (`dbt_project/target/jinja-<uid>`), one file per source
(`marshal`, as Python's own .pyc and Jinja's bytecode cache keep code), so that the next process
finds them too. Loading code from a file runs what the file says, so the folder is the user's own:
made 0700, used only when owned by this user and writable by no one else, each file written 0600
and replaced atomically; a file that does not load is compiled again and rewritten. A checkout that
cannot be written keeps the code in the process only. When the folder holds more than `KEEP` files
(templates of models since changed), the oldest half is removed. Deleting the folder is always safe.
`DBT_MACRO_DEBUGGING` (dbt's own switch to write the compiled templates out) compiles as before.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import marshal
import os
import stat
import sys
import tempfile
import threading
from importlib.metadata import version
from pathlib import Path
from types import CodeType

IN_PROCESS = 20_000  # code objects held in this process before they are dropped
KEEP = 20_000  # files in the folder before the oldest half goes (a few MB per thousand)
SUFFIX = ".jinjac"

_lock = threading.Lock()
_codes: dict[str, CodeType] = {}
_folder: Path | None = None


def folder_for(dbt_project_dir: Path) -> Path:
    """The folder of compiled templates of the checkout whose dbt project is `dbt_project_dir`."""
    return Path(dbt_project_dir) / "target" / f"jinja-{os.getuid()}"


def compiled_templates_kept(folder: Path | None = None) -> None:
    """Keep the code that Jinja compiles for dbt's environments, in this process and in `folder`
    (none: in this process only). Idempotent; a later call changes the folder."""
    global _folder
    _folder = _usable(folder) if folder is not None else None
    from dbt_common.clients import jinja as dbt_jinja

    environment = getattr(dbt_jinja, "MacroFuzzEnvironment", None)
    compile_ = getattr(environment, "compile", None)
    if compile_ is None or getattr(compile_, "compiled_once", False):
        return

    def compile_once(self, source, name=None, filename=None, raw=False, defer_init=False):
        key = None if raw or not isinstance(source, str) else _key(self, source, name, filename, defer_init)
        if key is None:
            return compile_(self, source, name, filename, raw, defer_init)
        code = _codes.get(key) or _read(key)
        if code is None:
            code = compile_(self, source, name, filename, raw, defer_init)  # raises as Jinja does
            _write(key, code)
        if len(_codes) >= IN_PROCESS:
            _codes.clear()  # a long-lived process that met many projects: start again
        _codes[key] = code
        return code

    compile_once.compiled_once = True  # type: ignore[attr-defined]
    compile_once.jinja_compile = compile_  # type: ignore[attr-defined]
    environment.compile = compile_once


def _key(environment, source: str, name, filename, defer_init: bool) -> str | None:
    """The SHA-256 of everything the compiled code depends on, or None where that is not known."""
    if os.environ.get("DBT_MACRO_DEBUGGING"):
        return None
    autoescape, finalize = getattr(environment, "autoescape", None), getattr(environment, "finalize", None)
    if not isinstance(autoescape, bool) or finalize is not None:
        return None
    from jinja2.utils import _PassArg

    versions = _versions()
    if versions is None:
        return None
    cls = type(environment)
    shape = (
        versions,
        f"{cls.__module__}.{cls.__qualname__}",
        f"{environment.code_generator_class.__module__}.{environment.code_generator_class.__qualname__}",
        f"{environment.template_class.__module__}.{environment.template_class.__qualname__}",
        environment.block_start_string, environment.block_end_string,
        environment.variable_start_string, environment.variable_end_string,
        environment.comment_start_string, environment.comment_end_string,
        environment.line_statement_prefix, environment.line_comment_prefix,
        environment.trim_blocks, environment.lstrip_blocks, environment.newline_sequence,
        environment.keep_trailing_newline, environment.optimized, environment.is_async, autoescape,
        sorted(f"{type(e).__module__}.{type(e).__qualname__}" for e in environment.extensions.values()),
        sorted((n, repr(_PassArg.from_obj(f))) for n, f in environment.filters.items()),
        sorted((n, repr(_PassArg.from_obj(f))) for n, f in environment.tests.items()),
        sorted((str(k), repr(v)) for k, v in environment.policies.items()),
        name, filename, bool(defer_init),
    )  # fmt: skip
    digest = hashlib.sha256(repr(shape).encode("utf-8"))
    digest.update(b"\0")
    digest.update(source.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@functools.cache
def _versions() -> tuple[str, ...] | None:
    """Python's (and its bytecode's), Jinja's and dbt-common's versions; None if one is not known."""
    try:
        import jinja2

        return (sys.version, importlib.util.MAGIC_NUMBER.hex(), jinja2.__version__, version("dbt-common"))
    except Exception:  # noqa: BLE001 - without them, nothing is kept
        return None


def _usable(folder: Path) -> Path | None:
    """`folder`, made if missing (0700); None if it is not this user's alone or cannot be made."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return folder


def _read(key: str) -> CodeType | None:
    if _folder is None:
        return None
    try:
        with open(_folder / f"{key}{SUFFIX}", "rb") as file:
            info = os.fstat(file.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                return None
            code = marshal.load(file)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def _write(key: str, code: CodeType) -> None:
    folder = _folder
    if folder is None:
        return
    out = None
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".", suffix=".tmp", delete=False) as out:
            marshal.dump(code, out)  # NamedTemporaryFile makes it 0600
        os.replace(out.name, folder / f"{key}{SUFFIX}")
        out = None
        _prune(folder)
    except (OSError, ValueError):  # a full disk, a folder gone: the code stays in this process
        pass
    finally:
        if out is not None:
            with contextlib.suppress(OSError):
                os.unlink(out.name)


def _prune(folder: Path) -> None:
    """Remove the oldest half of the kept files once there are more than KEEP (checked now and then)."""
    with _lock:
        _prune.writes = getattr(_prune, "writes", 0) + 1
        if _prune.writes % 500 != 1:
            return
    try:
        files = [(entry.stat().st_mtime, entry.path) for entry in os.scandir(folder) if entry.name.endswith(SUFFIX)]
    except OSError:
        return
    if len(files) <= KEEP:
        return
    for _, path in sorted(files)[: len(files) // 2]:
        with contextlib.suppress(OSError):
            os.unlink(path)
