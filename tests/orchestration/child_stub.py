"""A child process for tests of orchestration.provenance.Beside: `python -m tests.orchestration.child_stub
<parent pid> <stderr lines> <exit code> [<seconds to sleep first> [held]]`. It dies with its parent,
as the gates' and the lineage docs' processes do; `held`: it first waits for its parent's go (exit
code 99 when the parent closes the pipe without)."""

import sys
import time

from orchestration.provenance import die_with_parent, held_until_go

if __name__ == "__main__":
    parent, lines, code = (int(a) for a in sys.argv[1:4])
    die_with_parent(parent)
    if sys.argv[5:6] == ["held"] and not held_until_go():
        sys.exit(99)
    time.sleep(float(sys.argv[4]) if len(sys.argv) > 4 else 0)
    for i in range(lines):
        print(f"line {i}", file=sys.stderr)
    sys.exit(code)
