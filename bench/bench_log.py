"""Benchmark `caffemem log --format json` on a big log against a bare `for line in file` loop.

    python bench/bench_log.py [--size-mb 1024] [--vary | --source LOG] [--repeat 3] [--keep] [--log FILE]

Builds a log of the requested size in a temporary directory from the shipped sample log
(sample_logs/imagedata-conv-fc-killed.log): its set-up lines once, then its training lines
(test pass, loss, train output, lr) repeated with the iteration number increasing (with --vary,
the loss values change from block to block as in a real run). Then it times, each in a fresh
process and --repeat times in turns, a bare Python loop over the file's lines and
`caffemem log --format json` writing to /dev/null, and prints every time, the best of each, their
ratio and each one's peak RSS: the sum of the peaks of all its processes (one for caffemem since
the forked worker was retired; the sum is kept for comparing with older figures).
Targets from the issue: at most 4x the bare loop's time, under 100 MB peak RSS.

    python bench/bench_log.py --corpus NAME [--parse-log PATH] [--size-mb 1024] [--repeat 3] \
        [--formats json,csv,table,dropin]

The issue's real-material figures, one command per log source (NAME: squeezenet, ssd, nvcaffe,
intel, y2014, or all): the big log is built with --source from that corpus log (under
../shared/corpus/logs, or $CAFFEMEM_SHARED/corpus/logs), and each turn times, in fresh processes,
the bare loop, `caffemem log` in every format (json, csv, table) and, given --parse-log (BVLC
Caffe's tools/extra/parse_log.py, with its extract_seconds.py beside it; a copy with its one
Python 2 print statement made a call is run with this Python), parse_log.py on the same file.
It prints medians of wall and CPU time (user + sys, the process and its reaped children), the
median of the per-turn ratios, and the targets: within 3x of the bare loop, at least 10x faster
than parse_log.py, under 100 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_logs" / "imagedata-conv-fc-killed.log"
BARE_LOOP = ("import sys\nn = 0\n"
             "for line in open(sys.argv[1], encoding='utf-8', errors='replace'):\n    n += 1\n")
TEST_EVERY = 500  # iterations between test passes in the generated log
_LOSS_VALUE = re.compile(r"(loss = |\* 1 = )[0-9.e+-]+( loss\)|$| \()")


def _vary(line: str, rng: random.Random, iteration: int) -> str:
    """The line with each loss value replaced by a noisy falling curve, printed as Caffe prints
    floats (6 significant digits), so that number widths change from block to block."""
    value = f"{(2.3 * 0.9999 ** iteration + 0.05) * rng.uniform(0.7, 1.3):.6g}"
    return _LOSS_VALUE.sub(lambda m: m.group(1) + value + m.group(2), line)


def build_log(path: Path, size: int, vary: bool = False) -> int:
    """Write the big log; returns the number of lines. ``vary``: loss values change (see _vary)."""
    rng = random.Random(0)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    setup = [line for line in lines if "Iteration" not in line and "net output" not in line
             and line.strip() != "Killed"]
    training = [line for line in lines if "Iteration" in line or "net output" in line]
    test_lines = [line for line in training if "Testing net" in line or "Test net output" in line]
    train_lines = [line for line in training if line not in test_lines]
    number = re.compile(r"Iteration \d+")
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        block = "\n".join(setup) + "\n"
        out.write(block)
        written = len(block)
        count += len(setup)
        iteration = 0
        while written < size:
            parts = []
            for _ in range(1000):
                block_lines = train_lines
                if iteration % TEST_EVERY == 0:
                    block_lines = test_lines + train_lines
                for line in block_lines:
                    line = number.sub(f"Iteration {iteration}", line)
                    parts.append(_vary(line, rng, iteration) if vary else line)
                iteration += 1
            block = "\n".join(parts) + "\n"
            out.write(block)
            written += len(block)
            count += len(parts)
    return count


def build_from_log(path: Path, size: int, source: Path) -> int:
    """Write a big log from another real log: its lines up to its last "Solving" once, then its
    training lines (everything after, up to the last iteration line) again and again, every
    iteration number moved on by the span of the original run so that they keep increasing."""
    lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    start = max((k + 1 for k, line in enumerate(lines) if "] Solving " in line), default=None)
    if start is None:
        sys.exit(f"bench: {source} has no 'Solving' line")
    training = lines[start:]
    while training and "] Iteration " not in training[-1]:
        training.pop()  # the end of the run (snapshot, "Optimization Done", a crash): once only, and not here
    number = re.compile(r"(Iteration )(\d+)")
    iterations = sorted({int(found.group(2)) for line in training for found in number.finditer(line)})
    if not iterations:
        sys.exit(f"bench: {source} has no iterations")
    step = iterations[1] - iterations[0] if len(iterations) > 1 else 1
    span = iterations[-1] - iterations[0] + step
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        block = "\n".join(lines[:start]) + "\n"
        out.write(block)
        written = len(block)
        count += start
        shift = 0
        while written < size:
            block = "\n".join(number.sub(lambda m, by=shift: m.group(1) + str(int(m.group(2)) + by), line)
                              for line in training) + "\n"
            out.write(block)
            written += len(block)
            count += len(training)
            shift += span
    return count


def _tree(pid: int) -> list[int]:
    """pid and its descendants (Linux /proc; just pid elsewhere or once it is gone)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as children:
                todo.extend(int(child) for child in children.read().split())
        except OSError:
            pass
    return found


def _peak_kib(pid: int) -> int | None:
    """VmHWM (the process's peak RSS so far) in KiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class _TreePeak(threading.Thread):
    """Samples the peak RSS of every process in a tree; their sum bounds the tree's peak from above."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            for pid in _tree(self.pid):
                peak = _peak_kib(pid)
                if peak is not None:
                    self.peaks[pid] = max(peak, self.peaks.get(pid, 0))


SHARED = Path(os.environ.get("CAFFEMEM_SHARED") or ROOT.parent / "shared")
CORPUS = {  # the log sources: a real log each, its training section repeated
    "squeezenet": "caffenet_benchmark/SqueezeNet128_new_solver.log",  # BVLC, a test pass every 1,000
    "ssd": "ssd_qiangxie/VGG_VOC0712_SSD_300x300.log",  # weiliu89 SSD: nan losses, prefetch lines
    "nvcaffe": "nvcaffe/train_with_nccl.log",  # NVCaffe multi-GPU: per-GPU, LMDB, debug lines
    "intel": "intel_caffe_bobhuynh/caffe.log",  # Intel Caffe GoogLeNet: snapshots, 3 losses
    "y2014": "yindaz_caffe_2014/caffe.INFO.20141025-144645.21849",  # 2014: 50 "Data: ..." lines a block
}
FORMATS = ("json", "csv", "table")


def _parse_log_copy(parse_log: Path, into: Path) -> Path:
    """parse_log.py and extract_seconds.py copied into ``into``, the one Python 2 print made a call."""
    for name in ("parse_log.py", "extract_seconds.py"):
        text = (parse_log.parent / name).read_text(encoding="utf-8")
        text = re.sub(r"^(\s*)print '(.*)' % (\w+)$", r"\1print('\2' % \3)", text, flags=re.M)
        (into / name).write_text(text, encoding="utf-8")
    return into / "parse_log.py"


def timed_cpu(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, cpu s: user + sys of the process and the children it reaped, peak RSS MB)."""
    elapsed, peak, _, cpu = _run(cmd)
    return elapsed, cpu, peak


def corpus_bench(name: str, size_mb: int, repeat: int, parse_log: Path | None, tmp: Path,
                 formats: tuple[str, ...] = FORMATS) -> None:
    """One figure of the issue: a log built from corpus log ``name``, timed against the bare loop
    (and parse_log.py); prints medians and the median of the per-turn ratios with their targets."""
    source = SHARED / "corpus" / "logs" / CORPUS[name]
    log = tmp / f"{name}.log"
    lines = build_from_log(log, size_mb * 2**20, source)
    print(f"== {name}: {source.name} -> {log.stat().st_size / 2**20:,.0f} MiB, {lines:,} lines")
    py = sys.executable
    commands = {"bare": [py, "-c", BARE_LOOP, str(log)]}
    dropin = tmp / f"{name}-dropin"
    for fmt in formats:
        if fmt == "dropin":  # parse_log.py's drop-in: its two files, in a directory as parse_log.py LOG DIR
            dropin.mkdir(exist_ok=True)
            commands[fmt] = [py, "-m", "caffemem", "log", "--format", "csv", "--csv-prefix", str(dropin), "--force",
                             "--no-progress", str(log)]
        else:
            commands[fmt] = [py, "-m", "caffemem", "log", "--format", fmt, "--no-progress", str(log)]
    if parse_log is not None:
        out = tmp / f"{name}-parse_log"
        out.mkdir(exist_ok=True)
        commands["parse_log.py"] = [py, str(_parse_log_copy(parse_log, tmp)), str(log), str(out)]
    runs: dict[str, list[tuple[float, float, float]]] = {key: [] for key in commands}
    for _ in range(max(1, repeat)):  # in turns, so that a slow spell of the machine hits all
        for key, cmd in commands.items():
            runs[key].append(timed_cpu(cmd))
    median = statistics.median
    print(f"{'':14}{'wall s':>8}{'cpu s':>8}{'peak MB':>9}   cpu runs (s)")
    for key, got in runs.items():
        print(f"{key:14}{median(r[0] for r in got):>8.2f}{median(r[1] for r in got):>8.2f}"
              f"{max(r[2] for r in got):>9.0f}   {' '.join(f'{r[1]:.2f}' for r in got)}")
    for fmt in formats:
        ours = runs[fmt]
        wall = median(a[0] / b[0] for a, b in zip(ours, runs["bare"], strict=True))
        cpu = median(a[1] / b[1] for a, b in zip(ours, runs["bare"], strict=True))
        text = f"{fmt:6} vs bare loop: {wall:.1f}x wall, {cpu:.1f}x cpu (target <= 3x)"
        if parse_log is not None:
            theirs = runs["parse_log.py"]
            pwall = median(b[0] / a[0] for a, b in zip(ours, theirs, strict=True))
            pcpu = median(b[1] / a[1] for a, b in zip(ours, theirs, strict=True))
            text += f"; {pwall:.1f}x wall, {pcpu:.1f}x cpu faster than parse_log.py (target >= 10x)"
        text += f"; peak {max(r[2] for r in ours):.0f} MB (target < 100 MB)"
        print(text)
    if parse_log is not None and "dropin" in formats:
        same = all((dropin / f"{log.name}.{t}").exists() == (out / f"{log.name}.{t}").exists() and (
            not (out / f"{log.name}.{t}").exists()
            or (dropin / f"{log.name}.{t}").read_bytes() == (out / f"{log.name}.{t}").read_bytes())
            for t in ("train", "test"))
        print(f"dropin files {'are' if same else 'are NOT'} parse_log.py's, byte for byte")
    log.unlink()


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, processes) of one command and the processes it starts, output to /dev/null.

    The peak is the sum of each process's own peak (sampled from /proc every 20 ms; a worker's
    peak counts in full even where it shares pages with its parent), at least the peak the
    kernel reports for the command (wait4: the largest of it and its waited-for children).
    """
    elapsed, peak, processes, _ = _run(cmd)
    return elapsed, peak, processes


def _run(cmd: list[str]) -> tuple[float, float, int, float]:
    """(wall s, peak RSS MB, processes seen, cpu s) of ``cmd`` run once with its output to /dev/null."""
    start = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.PIPE)
        sampler = _TreePeak(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        sampler.done.set()
        sampler.join()
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{err}")
    peak = max(usage.ru_maxrss, sum(sampler.peaks.values()))  # ru_maxrss is KiB on Linux
    return elapsed, peak / 1024, max(1, len(sampler.peaks)), usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the generated log (default 1024)")
    parser.add_argument("--keep", action="store_true", help="keep the generated log and print its path")
    parser.add_argument("--vary", action="store_true",
                        help="loss values that change from block to block, as in a real run (widths vary)")
    parser.add_argument("--source", type=Path,
                        help="build the big log from this real log's training lines instead of the sample's")
    parser.add_argument("--log", type=Path, help="time this log instead of generating one")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each, taken in turns; the best of each is compared (default 3)")
    parser.add_argument("--corpus", choices=[*CORPUS, "all"],
                        help="the issue's figure for this corpus log source (see above)")
    parser.add_argument("--parse-log", type=Path, help="BVLC Caffe's tools/extra/parse_log.py, to time too")
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help="with --corpus: these formats only (json,csv,table; dropin: --format csv "
                             "--csv-prefix DIR, parse_log.py's files, compared with its own when --parse-log)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="caffemem-bench-"))
    try:
        if args.corpus is not None:
            for name in CORPUS if args.corpus == "all" else [args.corpus]:
                corpus_bench(name, args.size_mb, args.repeat, args.parse_log, tmp, tuple(args.formats.split(",")))
            return
        if args.log is not None:
            log, lines = args.log, None
        else:
            log = tmp / "big.log"
            t0 = time.perf_counter()
            if args.source is not None:
                lines = build_from_log(log, args.size_mb * 2**20, args.source)
            else:
                lines = build_log(log, args.size_mb * 2**20, args.vary)
        size = log.stat().st_size
        if lines is not None:
            print(f"built {log} ({size / 2**20:,.0f} MiB, {lines:,} lines) in {time.perf_counter() - t0:.1f} s")
        py = sys.executable
        commands = {"bare for-line loop": [py, "-c", BARE_LOOP, str(log)],
                    "caffemem log --format json": [py, "-m", "caffemem", "log", "--format", "json", "--no-progress",
                                                   str(log)]}
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
        for _ in range(max(1, args.repeat)):  # in turns, so that a slow spell of the machine hits both
            for name, cmd in commands.items():
                results[name].append(timed(cmd))
        print(f"{'':32}{'best s':>8}{'runs (s)':>24}{'peak RSS MB':>13}{'processes':>11}")
        best = {}
        for name, runs in results.items():
            best[name] = min(t for t, _, _ in runs)
            every = " ".join(f"{t:.2f}" for t, _, _ in runs)
            print(f"{name:32}{best[name]:>8.2f}{every:>24}{max(r for _, r, _ in runs):>13.1f}"
                  f"{max(n for _, _, n in runs):>11}")
        bare_t, ours_t = best["bare for-line loop"], best["caffemem log --format json"]
        ours_rss = max(r for _, r, _ in results["caffemem log --format json"])
        ratio = ours_t / bare_t if bare_t else float("inf")
        print(f"ratio {ratio:.2f}x (target <= 4x); peak RSS {ours_rss:.0f} MB (target < 100 MB)")
        if args.keep:
            print(f"kept {log}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
