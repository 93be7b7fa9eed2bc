"""Benchmark: read a ~550 MB caffemodel's layer list in time and memory independent of its size.

usage: python bench/bench_caffemodel.py [--dir DIR] [--keep] [--protobuf]

Writes a stand-in of VGG-16's weights (its real layer names and blob shapes, zero values: 138 M
floats, about the size of the model-zoo file) into a temporary folder, then reads it with
``read_caffemodel`` in a fresh child process and reports wall time, the child's peak RSS (with the
peak of a child that only imports caffemem, as the baseline) and the tracemalloc peak of the read.
``--protobuf`` also times parsing the same file with the protobuf library, which holds every value
(the cost the scanner avoids). Prints a table and, last, one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from caffemem.net.caffemodel import write_standin_caffemodel

MiB = 2**20


def vgg16_layers() -> list[tuple[str, str, list[tuple[int, ...]]]]:
    """VGG-16 (``VGG_ILSVRC_16_layers``) layers with parameters, in file order."""
    convs = [("conv1_1", 64, 3), ("conv1_2", 64, 64), ("conv2_1", 128, 64), ("conv2_2", 128, 128),
             ("conv3_1", 256, 128), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv4_1", 512, 256),
             ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv5_1", 512, 512), ("conv5_2", 512, 512),
             ("conv5_3", 512, 512)]
    layers: list[tuple[str, str, list[tuple[int, ...]]]] = [
        (name, "Convolution", [(out, inp, 3, 3), (out,)]) for name, out, inp in convs]
    layers += [("fc6", "InnerProduct", [(4096, 25088), (4096,)]),
               ("fc7", "InnerProduct", [(4096, 4096), (4096,)]),
               ("fc8", "InnerProduct", [(1000, 4096), (1000,)])]
    return layers


CHILD = r"""
import json, resource, sys, time, tracemalloc
from caffemem.net.caffemodel import read_caffemodel
mode, path = sys.argv[1], sys.argv[2]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = {"baseline_rss": base}
if mode == "scan":
    t = time.perf_counter(); info = read_caffemodel(path); out["seconds"] = time.perf_counter() - t
    out["layers"] = len(info.layers); out["values_bytes"] = info.weights_values_bytes
elif mode == "trace":
    tracemalloc.start(); read_caffemodel(path); out["traced_peak"] = tracemalloc.get_traced_memory()[1]
elif mode == "protobuf":
    from caffemem.proto import caffe_pb2
    t = time.perf_counter()
    with open(path, "rb") as f:
        net = caffe_pb2.NetParameter.FromString(f.read())
    out["seconds"] = time.perf_counter() - t; out["layers"] = len(net.layer)
out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def child(mode: str, path: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, path], check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="folder for the stand-in (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the stand-in file")
    ap.add_argument("--protobuf", action="store_true", help="also parse it with the protobuf library")
    args = ap.parse_args()

    folder = args.dir or tempfile.mkdtemp(prefix="caffemem-bench-")
    path = os.path.join(folder, "vgg16-standin.caffemodel")
    t = time.perf_counter()
    size = write_standin_caffemodel(path, vgg16_layers())
    write_s = time.perf_counter() - t
    try:
        scan = child("scan", path)
        trace = child("trace", path)
        proto = child("protobuf", path) if args.protobuf else None
    finally:
        if not args.keep:
            os.remove(path)
            if not args.dir:
                os.rmdir(folder)

    rows = [("file size", f"{size / MiB:.1f} MiB ({size:,} bytes)"),
            ("write (streamed, 1 MiB chunks)", f"{write_s:.2f} s"),
            ("read_caffemodel time", f"{scan['seconds'] * 1000:.1f} ms ({scan['layers']} layers)"),
            ("child peak RSS: import only", f"{scan['baseline_rss'] / MiB:.1f} MiB"),
            ("child peak RSS: after read", f"{scan['peak_rss'] / MiB:.1f} MiB"),
            ("tracemalloc peak of the read", f"{trace['traced_peak'] / 1024:.1f} KiB")]
    if proto is not None:
        rows += [("protobuf FromString time", f"{proto['seconds']:.2f} s"),
                 ("protobuf child peak RSS", f"{proto['peak_rss'] / MiB:.1f} MiB")]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        sys.stdout.write(f"{key:<{width}}  {value}\n")
    figures = {"file_bytes": size, "write_s": write_s, "read_s": scan["seconds"],
               "baseline_rss": scan["baseline_rss"], "read_peak_rss": scan["peak_rss"],
               "read_rss_delta": scan["peak_rss"] - scan["baseline_rss"], "traced_peak": trace["traced_peak"]}
    if proto is not None:
        figures.update(protobuf_s=proto["seconds"], protobuf_peak_rss=proto["peak_rss"])
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
