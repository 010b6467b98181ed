"""A child process for tests of orchestration.provenance.Beside: `python -m tests.orchestration.child_stub
<parent pid> <stderr lines> <exit code> [<seconds to sleep first>]`. It dies with its parent, as the
gates' and the lineage docs' processes do."""

import sys
import time

from orchestration.provenance import die_with_parent

if __name__ == "__main__":
    parent, lines, code = (int(a) for a in sys.argv[1:4])
    die_with_parent(parent)
    time.sleep(float(sys.argv[4]) if len(sys.argv) > 4 else 0)
    for i in range(lines):
        print(f"line {i}", file=sys.stderr)
    sys.exit(code)
