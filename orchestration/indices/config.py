"""What the index configurations (composite.py, mss.py, uncertainty.py) have in common: frozen pydantic
models that refuse unknown keys, and error messages that say in words where the problem is and what
is allowed, one line per problem (no pydantic URLs), e.g.

    composite 'kinder_teilhabe', dimension 'wirtschaft', indicator 'x1': unknown key 'wieght'
    (allowed: id, direction, weight)

    composite 'kinder_teilhabe', dimension 'bildung', indicator 'y', key 'direction':
    Input should be 'higher_is_worse' or 'higher_is_better', got 'up'

(each on one line; the catalogue puts the file and the index entry in front, catalogue/validate.py
`_check_indices`). The lines are written by `errors.configuration_problems`, as those of the other
configurations are; only the entries are found here, and a key is called "key".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..errors import Place, configuration_problems, shown

# Numbers are numbers: no "2" for 2, no True for 1, no inf or NaN (pydantic's lax mode would take the first two).
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# Ids and column names: text (an unquoted 0101 in YAML is the number 65 or 101), trimmed, not empty.
Name = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]


class ConfigError(ValueError):
    """A wrong index configuration. The message has one line per problem."""


def twice(items: Sequence[str]) -> list[str]:
    """The items that occur more than once, sorted."""
    return sorted({i for i in items if items.count(i) > 1})


def _get(item: Any, key: str) -> Any:
    """`key` of a mapping or an attribute of an already built configuration; None when absent."""
    return item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)


class FrozenConfig(BaseModel):
    """Base of the index configurations: immutable, hashable, unknown keys are errors.

    Built with keywords, or positionally in field order (as the dataclasses they replace were), or
    from a mapping (`_from_mapping`); every way raises `_error` (a ValueError) with a readable message
    instead of pydantic's ValidationError. `replace` is the validated `dataclasses.replace`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    _kind: ClassVar[str] = "configuration"  # how an entry is called in messages
    _label_key: ClassVar[str | None] = "id"  # the key whose value names an entry (None: the kind alone)
    _keys: ClassVar[tuple[str, ...]] = ()  # the keys of the mapping form, listed for an unknown key
    _children: ClassVar[dict[str, type[FrozenConfig]]] = {}  # list fields whose entries are configurations
    _error: ClassVar[type[ValueError]] = ConfigError

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = list(type(self).model_fields)
        if len(args) > len(names):
            raise TypeError(
                f"{type(self).__name__} takes at most {len(names)} positional arguments ({len(args)} given)"
            )
        for name, value in zip(names, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__} got two values for {name!r}")
            kwargs[name] = value
        try:
            super().__init__(**kwargs)
        except ValidationError as error:
            raise self._error(self._describe(error, kwargs, mapping=False)) from None

    # pydantic calls an __init__ of its own making for validation (of nested entries too) unless the
    # __init__ carries this mark; without it every nested problem would lose its location
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, validated like a new configuration (pydantic's model_copy does not validate)."""
        return type(self)(**{**{name: getattr(self, name) for name in type(self).model_fields}, **changes})

    @classmethod
    def _from_mapping(cls, data: Any) -> Self:
        if not isinstance(data, Mapping):
            raise cls._error(f"{cls._kind}: expected a mapping, got {type(data).__name__} ({shown(data)})")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as error:
            raise cls._error(cls._describe(error, data, mapping=True)) from None

    # ---------------------------------------------------------------------------------------- messages

    @classmethod
    def _label(cls, item: Any, position: int | None = None) -> str:
        if cls._label_key is None:
            return cls._kind
        name = _get(item, cls._label_key)
        if position is None or (isinstance(name, str) and name.strip()):
            return f"{cls._kind} {name!r}"
        return f"{cls._kind} no. {position + 1}"

    @classmethod
    def _relocate(cls, loc: tuple[Any, ...]) -> tuple[Any, ...]:
        """Hook: where a problem is reported (e.g. a field aligned with a list of entries)."""
        return loc

    @classmethod
    def _describe(cls, error: ValidationError, data: Any, mapping: bool) -> str:
        problems = configuration_problems(error, locate=lambda loc: cls._place(loc, data, mapping), key="key")
        return "\n".join(problems)

    @classmethod
    def _place(cls, loc: tuple[Any, ...], data: Any, mapping: bool) -> Place:
        """The entries (composite, dimension, indicator …) that hold a problem, by id, and the keys
        the innermost one takes (those of the mapping form where the configuration is a mapping)."""
        model, item, where = cls, data, [cls._label(data)]
        rest = list(cls._relocate(loc))
        while len(rest) >= 2 and rest[0] in model._children and isinstance(rest[1], int):
            field, position = rest.pop(0), rest.pop(0)
            model, entries = model._children[field], _get(item, field)
            ok = isinstance(entries, Sequence) and not isinstance(entries, str) and position < len(entries)
            item = entries[position] if ok else None
            where.append(model._label(item, position))
        allowed = (model._keys if mapping or model is not cls else ()) or tuple(model.model_fields)
        return Place(tuple(where), tuple(rest), allowed)
