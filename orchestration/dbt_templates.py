"""dbt's Jinja templates compiled once per source, not once per dbt invocation.

dbt renders every node's SQL and every macro from a Jinja template, and Jinja turns each template's
source into Python code (parse, generate, compile) before it runs it. dbt keeps the macros' templates
for the life of a process, but compiles every node's SQL again on each invocation, and a new process
(`sozialmonitor run`, the release's lineage docs, Dagster's dbt child) compiles everything again:
on the test city, 467 distinct sources per build, 0.86 s of a 17 s build's CPU on one thread, and
about 1 s of the lineage docs' 12 s.

`compiled_templates_kept(folder)` keeps the code Jinja compiles for dbt's environments, under the
SHA-256 of everything the code depends on (`_key`): the source, the template's name, Jinja's,
dbt-common's and Python's versions, and the environment's shape (its classes and code generator,
the delimiters and whitespace settings, the sandbox's intercepted operators, the extensions, the
filters and tests (which function, and what each is handed), the compiler policies). Jinja
evaluates constant expressions while it compiles, with those filters and tests and the
environment's undefined; so only the environments that render (Jinja's own undefined) are kept,
and dbt's parse, whose undefined records what it meets, compiles as before, as does an environment
with a setting the key does not cover (a callable autoescape or finalize). The code is the code
Jinja makes for that key (tests/orchestration/test_dbt_templates.py compares it for every template
of the project and of dbt's own macros, in both of dbt's environments).

Kept in this process, and in `folder` (`dbt_project/target/jinja-<uid>`), one file per source
(`marshal`, as Python's own .pyc and Jinja's bytecode cache keep code), so that the next process
finds them too. Loading code from a file runs what the file says, so the folder is the user's own:
made 0700 and used only if it is no link, is owned by this user and writable by no one else; it
is opened once and its files relative to that, each only if it is a regular file of this user's
with one link, written by no one else; files are written 0600 and replaced atomically; a file
that does not load is compiled again and rewritten. A checkout that cannot be written keeps the
code in the process only. A folder of more than `KEEP` files (templates of models since changed)
is emptied and fills again. Deleting it is always safe (a process that held it opens the new one).
dbt's macro debugging (`DBT_MACRO_DEBUGGING`, `--macro-debugging`) compiles as dbt does.
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
import threading
import time
from importlib.metadata import version
from pathlib import Path
from types import CodeType

IN_PROCESS = 20_000  # code objects held in this process before they are dropped
KEEP = 20_000  # files in the folder before it is emptied (a few MB per thousand)
TEMPORARY = ".tmp"
SHAPES = 64  # environment shapes held in this process (dbt makes two kinds)
SUFFIX = ".jinjac"

_lock = threading.Lock()
_codes: dict[str, CodeType] = {}
_folder: int | None = None  # a descriptor of the folder in use (`_usable`)
_opened: dict[str, int | None] = {}
_shapes: dict[tuple, str] = {}  # an environment's classes, settings and functions -> its shape (`_shape`)


def folder_for(dbt_project_dir: Path) -> Path:
    """The folder of compiled templates of the checkout whose dbt project is `dbt_project_dir`."""
    return Path(dbt_project_dir) / "target" / f"jinja-{os.getuid()}"


def compiled_templates_kept(folder: Path | None = None) -> None:
    """Keep the code that Jinja compiles for dbt's environments, in this process and in `folder`
    (none: in this process only). Idempotent; a later call changes the folder."""
    global _folder
    if folder is None:
        _folder = None
    else:  # one descriptor per folder, never closed (a thread may be reading with it), opened
        # again when the folder at that path is another (removed by `make clean`, made again)
        key = str(Path(folder).absolute())
        if _opened.get(key) is None or not _still_there(_opened[key], Path(folder)):
            _opened[key] = _usable(Path(folder))
        _folder = _opened[key]
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
    import jinja2
    from dbt_common.clients import jinja as dbt_jinja

    if os.environ.get("DBT_MACRO_DEBUGGING") or getattr(dbt_jinja, "MACRO_DEBUGGING", False):
        return None  # dbt puts the compiled source where a debugger finds it: compiled as dbt does
    autoescape, finalize = getattr(environment, "autoescape", None), getattr(environment, "finalize", None)
    if not isinstance(autoescape, bool) or finalize is not None:
        return None
    # Jinja evaluates constant expressions while it compiles, with the environment's filters, tests,
    # attribute lookup and undefined: dbt's parse (an undefined that records what it meets) is
    # compiled as before; the environments that render (Jinja's own undefined) are kept
    if environment.undefined is not jinja2.Undefined:
        return None
    shape = _shape(environment, autoescape)
    if shape is None:
        return None
    digest = hashlib.sha256(repr((shape, name, filename, bool(defer_init))).encode("utf-8"))
    digest.update(b"\0")
    digest.update(source.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _shape(environment, autoescape: bool) -> str | None:
    """The SHA-256 of the environment's shape (everything but the template that its compiled code
    depends on), or None where a version is not known. dbt makes a new environment for every
    template, with the same classes and functions; naming each filter and test took about half a
    compile's time, so the shape is worked out once per set of those objects (`_shapes`, keyed by
    the objects themselves, which it holds): a filter function changed in place after it was first
    met (its defaults, its closure) is not seen, and dbt's are never changed."""
    classes = (
        type(environment), environment.code_generator_class, environment.template_class,
        environment.undefined, environment.context_class,
    )  # fmt: skip
    settings = (
        environment.block_start_string, environment.block_end_string,
        environment.variable_start_string, environment.variable_end_string,
        environment.comment_start_string, environment.comment_end_string,
        environment.line_statement_prefix, environment.line_comment_prefix,
        environment.trim_blocks, environment.lstrip_blocks, environment.newline_sequence,
        environment.keep_trailing_newline, environment.optimized, environment.is_async, autoescape,
        getattr(environment, "sandboxed", False),
        sorted(getattr(environment, "intercepted_binops", ())), sorted(getattr(environment, "intercepted_unops", ())),
        sorted((str(k), repr(v)) for k, v in environment.policies.items()),
    )  # fmt: skip
    extensions = tuple(type(e) for e in environment.extensions.values())
    filters, tests = tuple(environment.filters.items()), tuple(environment.tests.items())
    probe: tuple | None = (classes, repr(settings), extensions, filters, tests)
    try:
        known = _shapes.get(probe)
    except TypeError:  # a filter or test that cannot be hashed: worked out every time
        known, probe = None, None
    if known is not None:
        return known
    versions = _versions()
    if versions is None:
        return None
    shape = (
        versions,
        [_named(c) for c in classes],
        settings,
        sorted(_named(e) for e in extensions),
        sorted((n, _named(f)) for n, f in filters),
        sorted((n, _named(f)) for n, f in tests),
    )
    known = hashlib.sha256(repr(shape).encode("utf-8")).hexdigest()
    if probe is not None:
        if len(_shapes) >= SHAPES:
            _shapes.clear()  # environments of many kinds: start again
        _shapes[probe] = known
    return known


def _named(thing, _depth: int = 0) -> tuple:
    """What names a class or function across processes: its module and qualified name, where its code
    starts, and what Jinja hands it (a context, an environment); for anything else its type and repr."""
    from jinja2.utils import _PassArg

    code = getattr(thing, "__code__", None)
    qualname = getattr(thing, "__qualname__", None)
    if qualname is None:
        return (type(thing).__module__, type(thing).__qualname__, repr(thing))
    # a function made by another (a closure) or with defaults computes with what it was given
    cells = getattr(thing, "__closure__", None) or ()
    if _depth < 2:
        contents = [c.cell_contents for c in cells]
        closure = tuple(_named(v, _depth + 1) if callable(v) else repr(v) for v in contents)
    else:
        closure = (len(cells),)
    given = (closure, repr(getattr(thing, "__defaults__", None)), repr(getattr(thing, "__kwdefaults__", None)))
    return (
        getattr(thing, "__module__", None), qualname,
        code.co_filename if code else None, code.co_firstlineno if code else None,
        repr(_PassArg.from_obj(thing)) if callable(thing) and not isinstance(thing, type) else None,
        given if code else None,
    )  # fmt: skip


@functools.cache
def _versions() -> tuple[str, ...] | None:
    """Python's (and its bytecode's), Jinja's and dbt-common's versions; None if one is not known."""
    try:
        import jinja2

        return (sys.version, importlib.util.MAGIC_NUMBER.hex(), jinja2.__version__, version("dbt-common"))
    except Exception:  # noqa: BLE001 - without them, nothing is kept
        return None


def _usable(folder: Path) -> int | None:
    """A descriptor of `folder`, made if missing (0700), or None if it is not this user's alone (a
    link, a folder others may write) or cannot be made. Files are opened relative to it, so the
    folder checked is the folder read, whatever its path points to later."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(descriptor)
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        os.close(descriptor)
        return None
    return descriptor


def _still_there(descriptor: int, folder: Path) -> bool:
    """Whether `descriptor` is still the folder at `folder` (not removed, not replaced)."""
    try:
        held, there = os.fstat(descriptor), os.lstat(folder)
    except OSError:
        return False
    return held.st_nlink > 0 and (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)


def _read(key: str) -> CodeType | None:
    folder = _folder
    if folder is None:
        return None
    try:
        descriptor = os.open(f"{key}{SUFFIX}", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                return None
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
    temporary = f".{key}.{os.getpid()}.{threading.get_ident()}{TEMPORARY}"
    try:
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder
        )
    except OSError:  # a full disk, a folder gone, a name another process holds: kept in this process
        return
    try:
        with os.fdopen(descriptor, "wb") as file:
            marshal.dump(code, file)
        os.replace(temporary, f"{key}{SUFFIX}", src_dir_fd=folder, dst_dir_fd=folder)
        _prune(folder)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)


def _prune(folder: int) -> None:
    """Empty the folder once it holds more than KEEP files (counted now and then): it fills again
    with what is still compiled, and templates of models changed since go."""
    with _lock:
        _prune.writes = getattr(_prune, "writes", 0) + 1
        if _prune.writes % 500 != 1:
            return
    try:
        entries = list(os.scandir(folder))
        # what a process killed while writing left: an hour old, no longer written by anyone
        stale = [e.name for e in entries if e.name.endswith(TEMPORARY) and e.stat().st_mtime < time.time() - 3600]
    except OSError:
        return
    names = [entry.name for entry in entries if entry.name.endswith(SUFFIX)]
    for name in stale + (names if len(names) > KEEP else []):
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=folder)
