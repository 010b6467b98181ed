"""Named points where a run can be killed on purpose, to prove that a hard kill at any of them
leaves no partial release and a warehouse the next run can use.

Set SOZIALMONITOR_KILL_AT=<point> (e.g. `release:before-rename`) and the process sends itself
SIGKILL when it reaches that point: no cleanup handler, no `finally`, exactly like `kill -9` or the
OOM killer. Without the variable a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "ingest:after-first-load",  # one extract committed, the others not yet loaded
    "dbt:mid-build",  # dbt has built some models and not others
    "release:before-rename",  # the release is complete in its temporary folder
    "release:before-latest",  # the release is in place, `latest` not yet switched
)


def armed(point: str) -> bool:
    """Whether this process is to be killed at `point` (for what a checkpoint needs to be watched
    by, e.g. a dbt callback that costs every event a message: orchestration.pipeline)."""
    if point not in POINTS:  # a typo here would make a fault test pass vacuously
        raise ValueError(f"unknown checkpoint {point!r}")
    return os.environ.get("SOZIALMONITOR_KILL_AT") == point


def checkpoint(point: str) -> None:
    if armed(point):
        os.kill(os.getpid(), signal.SIGKILL)
