"""Caffe's protobuf schema (``proto/caffe.proto``) compiled to Python, plus fork layer params.

Regenerate with ``python proto/regenerate.py`` after editing ``proto/caffe.proto``. The module is
generated with an older protoc on purpose, so that it loads on any protobuf runtime from 4.25 on.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

from caffemem.proto import caffe_pb2

__all__ = ["caffe_pb2", "is_repeated"]


def is_repeated(field: FieldDescriptor) -> bool:
    """Repeated or not, across protobuf releases (``label`` is deprecated in new ones)."""
    flag = getattr(field, "is_repeated", None)
    if flag is not None:
        return bool(flag)
    return field.label == FieldDescriptor.LABEL_REPEATED  # type: ignore[attr-defined]
