"""Development only: caffemem against bench/run_caffe.sh runs. usage: compare_runs.py DIR..."""
import json
import re
import statistics
import subprocess
import sys

errs = []
for d in sys.argv[1:]:
    try:
        kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{d}/time.txt").read()).group(1))
        log = open(f"{d}/caffe.log").read()
    except (OSError, AttributeError):
        continue
    if "Optimization Done" not in log:
        print(f"{d}: caffe failed: {[ln for ln in log.splitlines() if ln.startswith('F')][:1]}")
        continue
    mem = [int(x) for x in re.findall(r"Memory required for data: (\d+)", log)]
    out = subprocess.run(["caffemem", "check", f"{d}/solver.prototxt", "--mode", "cpu", "--format", "json"],
                         capture_output=True, text=True)
    if out.returncode:
        print(f"{d}: caffemem failed: {out.stderr.strip()[-200:]}")
        continue
    data = json.loads(out.stdout)
    got = data["footprint"]["total_bytes"]
    want = kb * 1024
    mine = [n["memory_required_for_data"] for n in data["nets"]]
    exact = all(m in mem for m in mine)
    err = (got - want) / want * 100
    errs.append(abs(err))
    print(f"{d}: caffe {want / 2**20:8.1f} MiB caffemem {got / 2**20:8.1f} MiB {err:+6.2f}% "
          f"({(got - want) / 2**20:+.2f} MiB) data {'exact' if exact else 'DIFF'}")
if errs:
    print(f"{len(errs)} runs: median |err| {statistics.median(errs):.2f}%, max {max(errs):.2f}%")
