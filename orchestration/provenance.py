"""Where a run comes from: the code's git commit and the process that runs it, and the child
processes it starts beside itself. Low level: imports nothing from the project, so every layer (the
pipeline's run record, the release manifest, the gates' and the lineage docs' processes) can use it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def git(project_dir: Path, *args: str) -> str | None:
    """Output of a git command in the project, or None where there is no git or no repository."""
    try:
        out = subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit(project_dir: Path) -> str | None:
    return git(project_dir, "rev-parse", "HEAD") or None


def process_start(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (Linux /proc), or None where that
    cannot be read. With the pid it names one process: a pid the system gave again to a later
    process has another start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces; starttime is field 22
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def run_is_alive(pid: int | None, host: str | None, started: int | None) -> bool | None:
    """Is the process of a run recorded as `running` still there? True or False on the host that
    started it; None where that cannot be told (another host, or a run recorded before runs
    carried their pid)."""
    if pid is None or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # a process of another user: alive, but not ours to ask
    now = process_start(pid)
    # a different start time: the pid was given to another process since
    return started is None or now is None or now == started


# what a held child (Beside(held=True)) reads from its stdin when it may go on
GO = b"go\n"


def held_until_go() -> bool:
    """In a child started held (`Beside(held=True)`): wait until the parent lets it go on (True),
    or closes the pipe without (False: the parent stopped before it needed the child)."""
    return sys.stdin.buffer.readline() == GO


def die_with_parent(parent: int) -> None:
    """Make this child process die with its parent `parent` (Linux: the kernel kills it, prctl
    PR_SET_PDEATHSIG), so that a killed run leaves no child holding the warehouse open, which its
    rerun must open for writing. Exits at once if the parent is gone already."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above took effect
        sys.exit(1)


class Beside:
    """A child process started beside the caller's own work: `python -m <module> <args>`, its stderr
    kept in a file, its stdout closed, its stdin too unless it is `held`. The child is expected to
    call `die_with_parent` with the pid handed to it, so a killed run leaves no child behind.
    `wait()` returns its exit code and the last lines of its stderr (once; later calls return the
    same); `stop()` kills it if it still runs (the caller stopped before it needed the result).
    `seconds`: the child's wall-clock time, start-up included, once waited for: until the child
    ended, not until the caller asked (a thread waits for the end and notes its time), so a caller
    that did other work first does not count that work as the child's. `running`: whether the
    child has not ended yet.

    `held`: the child is started now but holds until `go()`: it reads one line from its stdin
    (`held_until_go`), so it can do its start-up (imports) while the caller still works on what the
    child will read, on a core the caller leaves idle. Its `seconds` then count from `go()`."""

    TAIL_LINES = 15

    def __init__(
        self, module: str, args: list[str], env: dict[str, str], *, stderr: Path | None = None, held: bool = False
    ):
        self.seconds = 0.0
        self._result: tuple[int, str] | None = None
        # the child's stderr: a named file where the caller keeps one (a folder it owns), else anonymous
        self._log = stderr.open("w+b") if stderr is not None else tempfile.TemporaryFile()  # noqa: SIM115
        self._started = time.perf_counter()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                env=env,
                stdin=subprocess.PIPE if held else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
            )
        except BaseException:
            self._log.close()
            raise
        self._ended: float | None = None
        self._watch = threading.Thread(target=self._note_end, name=f"beside-{module}", daemon=True)
        self._watch.start()

    def _note_end(self) -> None:
        self._process.wait()
        self._ended = time.perf_counter()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._ended is None

    def wait(self) -> tuple[int, str]:
        """The child's exit code and the last lines of its stderr, once it has ended (a held child
        is let go first: it would wait for that)."""
        self.go()
        if self._result is None:
            try:
                self._watch.join()  # it waited for the end and noted its time
                code = self._process.wait()  # ended: returns its code at once
                assert self._ended is not None
                self.seconds = max(0.0, self._ended - self._started)  # a held child may end before go()
                tail: list[str] = []
                if not self._log.closed:  # closed: stopped, its stderr no longer of interest
                    self._log.seek(0)
                    tail = self._log.read().decode("utf-8", "replace").strip().splitlines()[-self.TAIL_LINES :]
                self._result = (code, "\n".join(tail))
            finally:
                self._log.close()
        return self._result

    def go(self) -> None:
        """Let a held child go on (`held`); its `seconds` count from here. Once: later calls, and
        calls for a child that was not held, do nothing. A child that ended meanwhile (its start-up
        failed) is left for `wait` to report."""
        pipe, self._process.stdin = self._process.stdin, None
        if pipe is None:
            return
        self._started = time.perf_counter()
        try:
            with contextlib.suppress(OSError):  # it ended: wait() tells how
                pipe.write(GO)
        finally:
            with contextlib.suppress(OSError):  # the same (closing flushes the line)
                pipe.close()

    def stop(self) -> None:
        """Kill the child if it still runs and wait for it to end (it may hold a file open that the
        caller's next step has to write)."""
        if self._process.returncode is None:
            self._process.kill()
            self._process.wait()
        if self._process.stdin is not None:  # held and never let go
            with contextlib.suppress(OSError):
                self._process.stdin.close()
            self._process.stdin = None
        if not self._log.closed:
            self._log.close()
