"""Caffe's protobuf schema (``proto/caffe.proto``) compiled to Python, plus fork layer params.

Regenerate with ``python proto/regenerate.py`` after editing ``proto/caffe.proto``.
"""

from caffemem.proto import caffe_pb2

__all__ = ["caffe_pb2"]
