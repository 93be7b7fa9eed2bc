"""``python -m tests.fuzz``: the long fuzz run (see README.md, "Fuzzing").

    python -m tests.fuzz --cases 10000 --kind prototxt --out fuzz-findings
    python -m tests.fuzz --replay fuzz-findings/prototxt-timeout-0123abcd.json

Exit code 1 when any case failed; failing inputs are saved under --out with a .json beside each
telling how to replay it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=["prototxt", "log", "caffemodel", "all"], default="all")
    parser.add_argument("--cases", type=int, default=1000, help="cases per kind (default 1000)")
    parser.add_argument("--first", type=int, default=0, help="number of the first case (to resume or shard)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same cases")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"), help="where failing inputs go")
    parser.add_argument("--time-limit", type=float, default=run.QUICK_TIME_LIMIT, help="seconds per case")
    parser.add_argument("--memory-mb", type=int, default=run.QUICK_MEMORY_MB,
                        help="address space a case may add to the process's, in MiB")
    parser.add_argument("--no-shared", action="store_true", help="only the seeds in tests/fuzz/seeds")
    parser.add_argument("--replay", type=Path, help="run one saved failure (its .json) again and print the outcome")
    args = parser.parse_args(argv)
    if args.replay:
        meta = json.loads(args.replay.read_text())
        data = args.replay.with_suffix(run.EXT[meta["kind"]]).read_bytes()
        pool = {s.name: s for s in run.seeds.pool(meta["kind"], shared=not args.no_shared)}
        companions = dict(pool[meta["seed"]].companions) if meta["seed"] in pool else {}
        case = run.Case(meta["kind"], meta["number"], meta["seed"], data, meta["mutators"], meta["args"], companions)
        if meta["kind"] == "prototxt":
            companions.setdefault("run.log", run.seeds.own_log())
        if meta["kind"] == "caffemodel":
            companions.setdefault("net.prototxt", run.seeds.own_net())
        outcome = run.run_case(case, args.time_limit, args.memory_mb)
        print(json.dumps(outcome.__dict__, indent=1))
        return 1 if outcome.failed else 0
    kinds = ["prototxt", "log", "caffemodel"] if args.kind == "all" else [args.kind]
    failed = 0
    for kind in kinds:
        summary = run.fuzz(kind, args.cases, args.seed, shared=not args.no_shared, out=args.out,
                           time_limit=args.time_limit, memory_mb=args.memory_mb, progress=sys.stderr.isatty(),
                           first=args.first)
        print("\n".join(summary.lines()))
        failed += summary.failures
    if failed:
        print(f"{failed} failing case(s); inputs saved under {args.out}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
