"""Speed of ``caffemem check``: a 1,000-layer training net, and the cost of the largest-batch answer.

Run:  python bench/bench_check.py
Targets: the whole process under 0.3 s for ResNet-152 (BatchNorm/Scale, training net, ~1,000 layers
with splits), and --mem (largest batch) at most 2x one plain check.
The net is generated here (a ResNet-152-shaped bottleneck stack), so the bench needs nothing else.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_SECONDS = 0.3
MAX_BATCH_RATIO = 2.0


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


def time_command(args: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=False, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        net = os.path.join(tmp, "resnet152_train.prototxt")
        with open(net, "w") as f:
            f.write(resnet152_text())
        base = [sys.executable, "-m", "caffemem", "check", net, "--format", "json"]
        layers = resnet152_text().count("layer {")
        plain = time_command(base + ["--batch", "2"])
        with_budget = time_command(base + ["--batch", "2", "--mem", "4GiB"])
    ratio = with_budget / plain
    print(f"ResNet-152 training net ({layers} layers before splits): check {plain:.3f} s "
          f"(target < {TARGET_SECONDS} s); with --mem (largest batch) {with_budget:.3f} s, "
          f"{ratio:.2f}x (target <= {MAX_BATCH_RATIO}x)")
    ok = plain < TARGET_SECONDS and ratio <= MAX_BATCH_RATIO
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
