"""Development only: keep what one real Caffe run (bench/run_caffe.sh DIR) showed as a test case.

usage: python bench/save_case.py RUNDIR NAME "what it shows" [--command train|test] [--arrays FILE.caffemodel]

--arrays: keep the weights file's packed value arrays (offset, values, width) instead of the file
itself, for the parse-peak model (the file is too big for the repository).

Writes tests/memory/cases/NAME/ with the run's net(s) and solver and a small case.json: the measured
peak RSS and each net's phase and last "Memory required for data" (from Caffe's log). The tests
(tests/memory/test_cases.py) check caffemem against it without Caffe.
"""
import json
import os
import re
import shutil
import sys

INIT = re.compile(r"\] Initializing net from parameters")
MEM = re.compile(r"\] Memory required for data: (\d+)")
PHASE = re.compile(r"^\s*phase: (TRAIN|TEST)\s*$")


def nets_of(log: str) -> list[dict]:
    """Each net Caffe initialized, in order; a net initialized inside another's set-up (the net an
    LSTM/RNN layer unrolls) is left out, and its lines are not its parent's."""
    nets: list[dict] = []
    stack: list[dict | None] = []
    for line in log.splitlines():
        if INIT.search(line):
            entry = {"phase": None, "memory_required_for_data": None}
            if not stack:
                nets.append(entry)
            stack.append(entry if len(stack) == 0 else None)
        elif "Network initialization done" in line:
            if stack:
                stack.pop()
        elif len(stack) == 1:
            entry = stack[0]
            if entry["phase"] is None and PHASE.match(line):
                entry["phase"] = PHASE.match(line).group(1)
            elif MEM.search(line):
                entry["memory_required_for_data"] = int(MEM.search(line).group(1))
    return nets


def main() -> None:
    run, name, note = sys.argv[1:4]
    rest = sys.argv[4:]
    command = rest[rest.index("--command") + 1] if "--command" in rest else "train"
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "memory", "cases", name)
    os.makedirs(out, exist_ok=True)
    files = []
    for f in sorted(os.listdir(run)):
        if f.endswith(".prototxt"):
            shutil.copy(os.path.join(run, f), out)
            files.append(f)
    log = open(os.path.join(run, "caffe.log")).read()
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(os.path.join(run, "time.txt")).read())
             .group(1))
    case = {"case": name, "note": note, "command": command, "files": files, "peak_rss_bytes": kb * 1024,
            "nets": nets_of(log)}
    if "--arrays" in rest:
        from caffemem.memory.loading import file_arrays
        from caffemem.net.caffemodel import read_caffemodel

        case["weights_arrays"] = [list(a) for a in file_arrays(read_caffemodel(rest[rest.index("--arrays") + 1]))]
    with open(os.path.join(out, "case.json"), "w") as fh:
        json.dump(case, fh, indent=1)
        fh.write("\n")
    print(out)


if __name__ == "__main__":
    main()
