"""Where a run comes from: the code's git commit and the process that runs it. Low level: imports
nothing from the project, so every layer (the pipeline's run record, the release manifest) can use it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
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
