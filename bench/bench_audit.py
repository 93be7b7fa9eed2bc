"""Speed of ``caffemem audit`` on the shared model corpus.

Run:  python bench/bench_audit.py [CORPUS]     # default: $CAFFEMEM_SHARED/corpus, else ../shared/corpus
Times whole ``python -m caffemem audit CORPUS --format json`` processes (--runs N, default 5, after one
warm-up) and prints the median wall and CPU time (user + system) and peak RSS (``os.wait4``). Target:
under 3 s of wall time (on a shared machine the CPU time is what an idle one would take).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TARGET_SECONDS = 3.0


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get("CAFFEMEM_SHARED") or os.path.join(here, "..", "..", "shared")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", default=os.path.join(shared, "corpus"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not os.path.isdir(args.corpus):
        print(f"no corpus at {args.corpus}: give its folder")
        return 2
    command = [sys.executable, "-m", "caffemem", "audit", args.corpus, "--format", "json"]
    walls, cpus, peaks = [], [], []
    for i in range(args.runs + 1):
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"failed: {' '.join(command)}")
            return 2
        if i:  # the first run is a warm-up (file cache)
            walls.append(time.perf_counter() - start)
            cpus.append(usage.ru_utime + usage.ru_stime)
            peaks.append(usage.ru_maxrss / 1024)
    files = sum(len(names) for _, _, names in os.walk(args.corpus))
    wall = statistics.median(walls)
    print(f"caffemem audit {args.corpus} ({files} files), median of {args.runs}: {wall:.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f}; target < {TARGET_SECONDS} s), "
          f"CPU {statistics.median(cpus):.2f} s, peak {statistics.median(peaks):.0f} MiB")
    ok = wall < TARGET_SECONDS
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
