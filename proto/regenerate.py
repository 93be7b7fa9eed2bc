"""Regenerate caffemem/proto/caffe_pb2.py from proto/caffe.proto.

Run from the project root after editing the schema:  python proto/regenerate.py
It uses the protoc bundled in grpcio-tools (a test extra), so no system protoc is needed.
tests/test_proto.py fails when the committed module and the .proto disagree.

The committed module is generated with grpcio-tools 1.62.3 (protoc 25.x):
    pip install grpcio-tools==1.62.3 && python proto/regenerate.py
Newer protoc versions stamp the module with a minimum protobuf runtime (7.x today), which would
force every user onto the newest protobuf; code from protoc 25 loads on protobuf 4.25 and later.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def generate(out_dir: str) -> str:
    """Compile caffe.proto into ``out_dir``; return the path of the generated module."""
    from grpc_tools import protoc  # imported here: only this script and its test need it

    rc = protoc.main(["protoc", f"-I{HERE}", f"--python_out={out_dir}", os.path.join(HERE, "caffe.proto")])
    if rc != 0:
        raise SystemExit(f"protoc failed with exit code {rc}")
    return os.path.join(out_dir, "caffe_pb2.py")


if __name__ == "__main__":
    path = generate(os.path.join(ROOT, "caffemem", "proto"))
    print(f"wrote {os.path.relpath(path, ROOT)}", file=sys.stderr)
