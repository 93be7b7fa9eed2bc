"""Speed of ``caffemem check``: a 1,000-layer training net, the largest-batch answer, and the cost per layer.

Run:  python bench/bench_check.py            # --runs N (default 7)
Each figure is the median of N whole ``python -m caffemem check`` processes (CPU time, user + system,
and peak RSS from ``os.wait4``; wall times printed beside), run in turns so that a slow spell of a
shared machine hits every command alike.
Targets:
- ResNet-152 (BatchNorm/Scale, training net, ~900 layers with splits), ``--format table`` and ``json``:
  at most 0.15 s per process;
- ``--mem`` (largest batch) at most 1.3x one plain check (median of the run-by-run ratios);
- linear in layers: chains of 1,000, 2,000 and 4,000 layers; the time per layer from 2,000 to 4,000
  at most 1.5x that from 1,000 to 2,000 (1.0 is linear). Time and memory per layer are printed.
Twice: with bytecode caches (as ``pip install`` leaves a package: the modules compiled once) and with
PYTHONDONTWRITEBYTECODE=1 (every module compiled from source on every run, as in a checkout on a machine
that sets it). The targets are checked on the first.
The nets are generated here (a ResNet-152-shaped bottleneck stack; a plain chain for the layer counts),
so the bench needs nothing else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_SECONDS = 0.15
MAX_BATCH_RATIO = 1.3
#: Linear in layers: the cost of each layer from 2,000 to 4,000 at most this many times that from 1,000 to 2,000.
MAX_SCALING = 1.5


def resnet152_text(batch: int = 2) -> str:
    out = ['name: "ResNet-152-bench"',
           f'layer {{ name: "data" type: "DummyData" top: "data" top: "label" dummy_data_param {{ '
           f'shape {{ dim: {batch} dim: 3 dim: 224 dim: 224 }} shape {{ dim: {batch} }} }} }}']

    def conv(name: str, bottom: str, n: int, k: int, s: int = 1, p: int = 0, relu: bool = True) -> str:
        lines = [f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}" '
                 f'convolution_param {{ num_output: {n} kernel_size: {k} stride: {s} pad: {p} bias_term: false }} }}',
                 f'layer {{ name: "bn_{name}" type: "BatchNorm" bottom: "{name}" top: "{name}" '
                 'param { lr_mult: 0 } param { lr_mult: 0 } param { lr_mult: 0 } }',
                 f'layer {{ name: "scale_{name}" type: "Scale" bottom: "{name}" top: "{name}" '
                 'scale_param { bias_term: true } }']
        if relu:
            lines.append(f'layer {{ name: "relu_{name}" type: "ReLU" bottom: "{name}" top: "{name}" }}')
        out.extend(lines)
        return name

    x = conv("conv1", "data", 64, 7, 2, 3)
    out.append(f'layer {{ name: "pool1" type: "Pooling" bottom: "{x}" top: "pool1" '
               'pooling_param { pool: MAX kernel_size: 3 stride: 2 } }')
    x = "pool1"
    for stage, (blocks, width) in enumerate([(3, 64), (8, 128), (36, 256), (3, 512)], start=2):
        for b in range(blocks):
            stride = 2 if b == 0 and stage > 2 else 1
            name = f"res{stage}_{b}"
            shortcut = conv(f"{name}_proj", x, width * 4, 1, stride, relu=False) if b == 0 else x
            y = conv(f"{name}_a", x, width, 1, stride)
            y = conv(f"{name}_b", y, width, 3, 1, 1)
            y = conv(f"{name}_c", y, width * 4, 1, relu=False)
            out.append(f'layer {{ name: "{name}" type: "Eltwise" bottom: "{shortcut}" bottom: "{y}" top: "{name}" }}')
            out.append(f'layer {{ name: "{name}_relu" type: "ReLU" bottom: "{name}" top: "{name}" }}')
            x = name
    out.append(f'layer {{ name: "pool5" type: "Pooling" bottom: "{x}" top: "pool5" '
               'pooling_param { pool: AVE global_pooling: true } }')
    out.append('layer { name: "fc" type: "InnerProduct" bottom: "pool5" top: "fc" '
               'inner_product_param { num_output: 1000 } }')
    out.append('layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }')
    return "\n".join(out) + "\n"


def chain_text(layers: int, batch: int = 2) -> str:
    """A plain chain of ``layers`` layers: Convolution, BatchNorm, Scale, ReLU blocks on a small image,
    then a loss (a training net with no splits but the label's)."""
    out = ['name: "chain-bench"',
           f'layer {{ name: "data" type: "DummyData" top: "data" top: "label" dummy_data_param {{ '
           f'shape {{ dim: {batch} dim: 16 dim: 32 dim: 32 }} shape {{ dim: {batch} }} }} }}']
    x, i = "data", 0
    kinds = ("Convolution", "BatchNorm", "Scale", "ReLU")
    while len(out) - 1 < layers - 2:
        kind = kinds[i % 4]
        name = f"l{i}"
        if kind == "Convolution":
            out.append(f'layer {{ name: "{name}" type: "Convolution" bottom: "{x}" top: "{name}" '
                       'convolution_param { num_output: 16 kernel_size: 3 pad: 1 bias_term: false } }')
            x = name
        elif kind == "Scale":
            out.append(f'layer {{ name: "{name}" type: "Scale" bottom: "{x}" top: "{x}" '
                       'scale_param { bias_term: true } }')
        else:
            out.append(f'layer {{ name: "{name}" type: "{kind}" bottom: "{x}" top: "{x}" }}')
        i += 1
    out.append(f'layer {{ name: "fc" type: "InnerProduct" bottom: "{x}" top: "fc" '
               'inner_product_param { num_output: 10 } }')
    out.append('layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }')
    return "\n".join(out) + "\n"


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """One whole process: (wall seconds, CPU seconds (user + system), peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def in_turns(commands: dict[str, list[str]], env: dict[str, str],
             runs: int) -> dict[str, list[tuple[float, float, float]]]:
    """Each command ``runs`` times, in turns (A B C A B C ...), after one warm-up run each."""
    for args in commands.values():
        run_once(args, env)
    out: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, args in commands.items():
            out[name].append(run_once(args, env))
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        nets = {"resnet": resnet152_text(), "chain1000": chain_text(1000), "chain2000": chain_text(2000),
                "chain4000": chain_text(4000)}
        paths = {}
        for name, text in nets.items():
            paths[name] = os.path.join(tmp, f"{name}.prototxt")
            with open(paths[name], "w") as f:
                f.write(text)
        check = [sys.executable, "-m", "caffemem", "check"]
        commands = {
            "table": check + [paths["resnet"], "--format", "table"],
            "json": check + [paths["resnet"], "--format", "json"],
            "mem": check + [paths["resnet"], "--format", "json", "--mem", "4GiB"],
            "start": [sys.executable, "-m", "caffemem", "--version"],
            "1000": check + [paths["chain1000"], "--format", "json"],
            "2000": check + [paths["chain2000"], "--format", "json"],
            "4000": check + [paths["chain4000"], "--format", "json"],
        }
        layers = nets["resnet"].count("layer {")
        cached = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        source = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        source.pop("PYTHONPYCACHEPREFIX", None)
        for label, env, judged in (("with bytecode caches", cached, True),
                                   ("PYTHONDONTWRITEBYTECODE=1 (compiled from source each run)", source, False)):
            got = in_turns(commands, env, runs)
            # Time is CPU time (user + system): on an idle machine a whole process's wall time (one thread,
            # no waiting on I/O); on a shared one, wall time also counts the time others had the CPUs.
            wall = {name: median([c for _, c, _ in rows]) for name, rows in got.items()}
            walls = {name: median([w for w, _, _ in rows]) for name, rows in got.items()}
            peak = {name: median([p for _, _, p in rows]) for name, rows in got.items()}
            ratio = median([m[1] / j[1] for m, j in zip(got["mem"], got["json"], strict=True)])
            start = wall["start"]
            per_layer_ms = (wall["4000"] - wall["1000"]) / 3000 * 1000
            per_layer_kb = (peak["4000"] - peak["1000"]) / 3000 * 1024
            scaling = ((wall["4000"] - wall["2000"]) / 2000) / ((wall["2000"] - wall["1000"]) / 1000)
            print(f"{label}, median of {runs} (CPU seconds; wall: table {walls['table']:.3f} s, json "
                  f"{walls['json']:.3f} s, --mem {walls['mem']:.3f} s):")
            print(f"  ResNet-152 training net ({layers} layers before splits): check --format table "
                  f"{wall['table']:.3f} s, json {wall['json']:.3f} s (target <= {TARGET_SECONDS} s); "
                  f"peak {peak['json']:.0f} MiB")
            print(f"  with --mem (largest batch): {wall['mem']:.3f} s, {ratio:.2f}x one check "
                  f"(target <= {MAX_BATCH_RATIO}x)")
            print(f"  start-up (caffemem --version) {start:.3f} s; chains of 1,000 / 2,000 / 4,000 layers "
                  f"{wall['1000']:.3f} / {wall['2000']:.3f} / {wall['4000']:.3f} s, "
                  f"{peak['1000']:.0f} / {peak['2000']:.0f} / {peak['4000']:.0f} MiB")
            print(f"  per layer (1,000 to 4,000): {per_layer_ms:.3f} ms, {per_layer_kb:.1f} KiB; per layer from 2,000 "
                  f"to 4,000 {scaling:.2f}x that from 1,000 to 2,000 (linear: 1; target <= {MAX_SCALING})")
            if judged:
                ok = (wall["table"] <= TARGET_SECONDS and wall["json"] <= TARGET_SECONDS
                      and ratio <= MAX_BATCH_RATIO and scaling <= MAX_SCALING)
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
