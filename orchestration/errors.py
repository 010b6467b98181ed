"""The base class of the project's own errors: each says how the command line ends on it.

Low level on purpose: this module imports nothing from the project, so that every package
(data_quality too) can derive its errors from it, and report a configuration that pydantic refused
the same way (`configuration_problems`). The exit codes are documented in
docs/operations.md ("Exit codes of `sozialmonitor run` / `ingest`"); keep both in step."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

if TYPE_CHECKING:
    from pydantic import ValidationError

# The exit code that is no error class of the project's (docs/operations.md). A wrong call (an
# unknown option value, an invalid date) is a usage error, click's exit code 2.
EXIT_ENVIRONMENT = 10  # the machine refused: disk full, no permission, read-only folder (an OSError)


class SozialmonitorError(Exception):
    """An expected failure: the CLI prints `headline`, the message and `hint`, and exits with
    `exit_code`, never with a traceback.

    exit_code: the process's exit code (docs/operations.md).
    headline:  the first words printed, e.g. "Run stopped in dbt:" ("" for none).
    hint:      what to do now, or which doc section explains it ("" for none)."""

    exit_code: int = 1
    headline: str = ""
    hint: str = ""


# ------------------------------------------------------------------------------ configuration errors


@dataclass(frozen=True)
class Place:
    """Where a problem of a configuration is, in words.

    entries: the entries that hold it, outermost first, e.g. ("indicator 'sgb2_quote'",).
    loc:     the rest of pydantic's location, inside the innermost entry (keys and list positions).
    allowed: the keys that entry takes, listed for an unknown key (() to find them from the model)."""

    entries: tuple[str, ...] = ()
    loc: tuple[str | int, ...] = ()
    allowed: tuple[str, ...] = ()


def shown(value: Any) -> str:
    """A value as a message quotes it: repr, cut after 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def configuration_problems(
    error: ValidationError,
    *,
    file: str | Path | None = None,
    model: type[BaseModel] | None = None,
    locate: Callable[[tuple[str | int, ...]], Place] | None = None,
    key: str = "field",
) -> list[str]:
    """One line per problem of `error`: "<file>: <entries>, field '<name>': <what is wrong>".

    The project's one way to report a configuration that pydantic refused (dbt_project.yml's vars,
    the contracts, the Kennzahlenkatalog, the index configurations). The location is in words: a
    list position is "entry no. N", a missing key "missing required field 'x'", an unknown key
    "unknown field 'x' (allowed: …)"; the text is pydantic's without its URL and "Value error, ",
    followed by the value given (", got 'up'") where that helps.

    file:   put in front of every line (None: the caller adds its own context).
    model:  the model validated, to list the keys allowed where a key is unknown.
    locate: turns pydantic's location into entries named by id, e.g. ("indicators", 3, "unit") into
            Place(("indicator 'sgb2_quote'",), ("unit",)); by default the location is all field.
    key:    what a key is called ("field"; the index configurations say "key")."""
    lines = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        place = locate(loc) if locate else Place(loc=loc)
        kind, path = detail["type"], place.loc
        if kind in ("missing", "extra_forbidden") and path and isinstance(path[-1], str):
            where = [*place.entries, *_path_in_words(path[:-1], key)]
            if kind == "missing":
                text = f"missing required {key} {path[-1]!r}"
            else:
                allowed = place.allowed or (_keys_at(model, loc) if model else ())
                text = f"unknown {key} {path[-1]!r}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        else:
            where = [*place.entries, *_path_in_words(path, key)]
            text = _text(detail)
        lines.append((f"{file}: " if file is not None else "") + (f"{', '.join(where)}: " if where else "") + text)
    return lines


def _text(detail: Any) -> str:
    """What is wrong: a validator's own words, or pydantic's followed by the value given."""
    if detail["type"] in ("value_error", "assertion_error") and "error" in detail.get("ctx", {}):
        return str(detail["ctx"]["error"])
    text = detail["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    return f"{text}, got {shown(detail['input'])}" if "input" in detail else text


def _path_in_words(path: tuple[str | int, ...], key: str) -> list[str]:
    """("status_bounds", 2) -> ["field 'status_bounds'", "entry no. 3"]: keys joined by dots."""
    words: list[str] = []
    keys: list[str] = []
    for part in path:
        if isinstance(part, int):
            if keys:
                words.append(f"{key} {'.'.join(keys)!r}")
                keys = []
            words.append(f"entry no. {part + 1}")
        else:
            keys.append(str(part))
    if keys:
        words.append(f"{key} {'.'.join(keys)!r}")
    return words


def _keys_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[str, ...]:
    """The fields of the model that holds the last key of `loc` (() when that is not one model)."""
    types: list[Any] = [model]
    for part in loc[:-1]:
        types = [inner for outer in types for inner in _inside(outer, part)]
    models = {t for t in types if isinstance(t, type) and issubclass(t, BaseModel)}
    return tuple(models.pop().model_fields) if len(models) == 1 else ()


def _inside(annotation: Any, part: str | int) -> list[Any]:
    """The types that `part` (a field name, list position or mapping key) of `annotation` may have."""
    found: list[Any] = []
    for member in _members(annotation):
        origin, args = get_origin(member), [a for a in get_args(member) if a is not Ellipsis]
        if isinstance(member, type) and issubclass(member, BaseModel):
            if isinstance(part, str) and part in member.model_fields:
                found += _members(member.model_fields[part].annotation)
        elif origin in (list, tuple, set, frozenset, Sequence) and isinstance(part, int):
            found += [m for arg in args for m in _members(arg)]
        elif origin in (dict, Mapping) and len(args) == 2:
            found += _members(args[1])
    return found


def _members(annotation: Any) -> list[Any]:
    """Annotated[X, …] -> [X]; X | Y -> [X, Y]; anything else -> [it]."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]
