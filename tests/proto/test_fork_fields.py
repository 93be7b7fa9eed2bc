"""caffemem.proto.forks lists exactly the fields caffemem's schema has beyond BVLC Caffe's."""

from __future__ import annotations

import ast
import re

import pytest
from conftest import SHARED
from google.protobuf import descriptor_pb2

from caffemem.proto import caffe_pb2
from caffemem.proto.forks import FORK_FIELDS, fork_of

BVLC_PB2 = SHARED / "caffe" / "pb2" / "caffe_pb2.py"


def _bvlc_fields() -> dict[str, set[str]]:
    """Message -> field names of the real Caffe's compiled schema (read as data, never imported)."""
    source = BVLC_PB2.read_text()
    blob = re.search(r"AddSerializedFile\((b'.*?')\)", source, re.S)
    assert blob, "no serialized descriptor in the BVLC caffe_pb2.py"
    proto = descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(blob.group(1)))
    return {m.name: {f.name for f in m.field} for m in proto.message_type}


@pytest.mark.skipif(not BVLC_PB2.is_file(), reason="../shared/caffe (BVLC Caffe's schema) is not beside the checkout")
def test_fork_table_matches_the_difference_from_bvlc() -> None:
    bvlc = _bvlc_fields()
    extra: dict[str, set[str]] = {}
    for name, message in caffe_pb2.DESCRIPTOR.message_types_by_name.items():
        if name in bvlc:  # messages BVLC lacks are reached only through a fork field of one it has
            fields = {f.name for f in message.fields} - bvlc[name]
            if fields:
                extra[name] = fields
    assert extra == {name: set(fields) for name, fields in FORK_FIELDS.items()}


def test_fork_of() -> None:
    assert fork_of("LayerParameter", "prior_box_param") == "SSD"
    assert fork_of("ConvolutionParameter", "stride") is None
