"""YAML read and written one way everywhere: libyaml's parser and emitter (PyYAML's CSafeLoader and
CSafeDumper) where PyYAML was built with them, else its pure-Python ones. Both use the same safe
constructors and resolvers, so a document gives the same objects either way; libyaml only parses
faster, about ten times (the catalogue is read before every dbt invocation; a Dagster run of the
test city parsed the 15 source contracts 94 times: 11 s in Python's parser)."""

from __future__ import annotations

from typing import IO, Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load_yaml(text: str | bytes | IO) -> Any:
    """The YAML document `text` as Python objects (yaml.YAMLError if it is not YAML)."""
    return yaml.load(text, Loader=LOADER)  # noqa: S506 - LOADER is a safe loader
