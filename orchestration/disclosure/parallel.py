"""The linked tables of a pattern or an audit solved side by side, the results taken in table order.

Each linked table is its own set of programmes: nothing one table's solution depends on comes from
another (orchestration/disclosure/pattern.py: linked_tables). HiGHS lets go of Python's lock while
it solves, so threads share the machine's cores without copying any table to another process. The
results are taken in the order of the tables, whichever thread finished first: the pattern, the
audit's findings and the first error raised are the same as in one thread, and independent of
timing: the `incremental` method, the default, has no time limit. (`milp` stops at its time limit,
so its patterns are solved one table at a time, as before: beside another table one would get less
of the machine. In the audit only the exact bound of a cell that nothing else proved runs against a
time limit, whose best whole-number solution then gives a narrower interval than the attacker's:
stricter, never laxer.)"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Threads that solve linked tables at once: the machine's cores, at most four (the programmes are
# small; beyond that the Python between solves holds the others back).
SOLVER_THREADS = max(1, min(os.cpu_count() or 1, 4))


def solved_in_order(solve: Callable[[T], R], items: Iterable[T], threads: int | None = None) -> Iterator[tuple[T, R]]:
    """(item, solve(item)) for every item, in the items' order, solved on up to `threads` threads.
    At most two items per thread are taken from `items` ahead of the one waited for, so a lazy
    iterable of large tables is never held all at once. An exception from `solve` is raised where
    its item stands, after the results of the items before it; the items after it are not begun
    (those already running finish first)."""
    threads = SOLVER_THREADS if threads is None else threads
    if threads <= 1:
        for item in items:
            yield item, solve(item)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="solver")
    pending: deque[tuple[T, Future[R]]] = deque()
    try:
        for item in items:
            pending.append((item, pool.submit(solve, item)))
            if len(pending) >= 2 * threads:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()
    finally:
        for _item, future in pending:
            future.cancel()
        pool.shutdown(wait=True)
