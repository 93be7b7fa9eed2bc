"""Tests for the caffemodel scanner (``caffemem.net.caffemodel``) and weights matching (``weights``).

Small caffemodels are built here with the protobuf schema (so the scanner is checked against the
real serializer); a >64 MB file is streamed to disk to show that reading stays in bounded memory.
The oracle tests write stand-ins of the two real snapshots in ``shared/oracle-inference`` with the
shared ``standin_weights.py`` tool and compare layer lists and Caffe's "Ignoring source layer" log
lines (skipped when ``shared`` is not beside the repository).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from conftest import SHARED

from caffemem.errors import CaffememError, NetError
from caffemem.net.analyze import analyze_net
from caffemem.net.build import BuiltNet
from caffemem.net.caffemodel import (
    CAFFE_READ_LIMIT,
    CaffeModelInfo,
    WeightsLayer,
    read_blobproto_shape,
    read_caffemodel,
    write_standin_caffemodel,
)
from caffemem.net.load import net_from_text
from caffemem.net.state import TEST
from caffemem.net.weights import loading_bytes, loading_estimate, match_weights, shape_string
from caffemem.proto import caffe_pb2

ORACLE = SHARED / "oracle-inference"
V1 = caffe_pb2.V1LayerParameter

TINY_NET = """
name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 1 dim: 12 dim: 12 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 5 } }
layer { name: "ip1" type: "InnerProduct" bottom: "conv1" top: "ip1" inner_product_param { num_output: 3 } }
layer { name: "prob" type: "Softmax" bottom: "ip1" top: "prob" }
"""
# conv1: weights (4, 1, 5, 5), bias (4,); conv1 top 2x4x8x8 -> ip1 weights (3, 256), bias (3,)


def tiny_net() -> BuiltNet:
    return analyze_net(net_from_text(TINY_NET, "tiny.prototxt"), phase=TEST).nets[0]


def blob(shape: tuple[int, ...], legacy: bool = False, double: bool = False,
         diff: bool = False) -> caffe_pb2.BlobProto:
    b = caffe_pb2.BlobProto()
    n = 1
    for d in shape:
        n *= d
    if legacy:
        b.num, b.channels, b.height, b.width = shape
    else:
        b.shape.dim.extend(shape)
    values = [0.5] * n
    (b.double_data if double else b.data).extend(values)
    if diff:
        b.diff.extend(values)
    return b


def v2_model(shapes: dict[str, list[tuple[int, ...]]], extra: tuple[str, ...] = ()) -> caffe_pb2.NetParameter:
    net = caffe_pb2.NetParameter(name="tiny")
    net.layer.add(name="data", type="Input")
    for name, blobs in shapes.items():
        layer = net.layer.add(name=name, type="Convolution" if name.startswith("conv") else "InnerProduct")
        layer.bottom.append("data")
        layer.convolution_param.num_output = 7  # a parameter message the scanner must skip
        layer.blobs.extend(blob(s) for s in blobs)
    for name in extra:
        net.layer.add(name=name, type="Softmax")
    return net


TINY_SHAPES = {"conv1": [(4, 1, 5, 5), (4,)], "ip1": [(3, 256), (3,)]}


def write(path: Path, message: caffe_pb2.NetParameter | caffe_pb2.BlobProto) -> str:
    path.write_bytes(message.SerializeToString())
    return str(path)


# --- reading ---------------------------------------------------------------------------------------


def test_v2_layers_shapes_and_counts(tmp_path: Path) -> None:
    path = write(tmp_path / "tiny.caffemodel", v2_model(TINY_SHAPES, extra=("prob",)))
    info = read_caffemodel(path)
    assert info.format == "V2" and info.name == "tiny" and info.upgrade_error is None
    assert [(la.name, la.type, la.blobs) for la in info.layers] == [
        ("data", "Input", []),
        ("conv1", "Convolution", [(4, 1, 5, 5), (4,)]),
        ("ip1", "InnerProduct", [(3, 256), (3,)]),
        ("prob", "Softmax", []),
    ]
    assert info.layer("ip1").value_counts == [768, 3]
    assert info.weights_values_bytes == 4 * (100 + 4 + 768 + 3)
    assert info.file_bytes == os.path.getsize(path)
    assert info.metadata_bytes == info.file_bytes - info.weights_values_bytes
    assert info.caffe_readable


def test_standin_writer_matches_protobuf(tmp_path: Path) -> None:
    """The streaming writer emits the same bytes as protobuf's serializer for the same layers."""
    specs = [("conv1", "Convolution", [(4, 1, 5, 5), (4,)]), ("relu", "ReLU", [])]
    path = tmp_path / "standin.caffemodel"
    size = write_standin_caffemodel(path, specs, chunk_bytes=7)
    parsed = caffe_pb2.NetParameter.FromString(path.read_bytes())
    assert size == path.stat().st_size
    assert [(la.name, la.type, [tuple(b.shape.dim) for b in la.blobs]) for la in parsed.layer] == specs
    assert [len(b.data) for b in parsed.layer[0].blobs] == [100, 4]


def test_v1_legacy_blobs_and_enum_types(tmp_path: Path) -> None:
    net = caffe_pb2.NetParameter(name="old")
    conv = net.layers.add(name="conv1", type=V1.CONVOLUTION)
    conv.blobs.extend([blob((4, 1, 5, 5), legacy=True), blob((1, 1, 1, 4), legacy=True)])
    ip = net.layers.add(name="ip1", type=V1.INNER_PRODUCT)
    ip.blobs.extend([blob((1, 1, 3, 256), legacy=True), blob((1, 1, 1, 3), legacy=True)])
    net.layers.add(name="prob", type=V1.SOFTMAX)
    info = read_caffemodel(write(tmp_path / "v1.caffemodel", net))
    assert info.format == "V1"
    assert [(la.name, la.type) for la in info.layers] == [
        ("conv1", "Convolution"), ("ip1", "InnerProduct"), ("prob", "Softmax")]
    assert info.layer("ip1").blobs == [(1, 1, 3, 256), (1, 1, 1, 3)]
    assert all(b.legacy for b in info.layer("conv1").details)

    # Blob::ShapeEquals compares legacy 4-D against LegacyShape: (3, 256) == (1, 1, 3, 256).
    match = match_weights(tiny_net(), info)
    assert match.copied == ["conv1", "ip1", "prob"]
    assert match.ignored_source_layers == [] and match.unfilled_layers == []
    assert match.copied_values_bytes == info.weights_values_bytes


def test_v0_nested_layers_and_padding(tmp_path: Path) -> None:
    net = caffe_pb2.NetParameter(name="v0")
    pad = net.layers.add()
    pad.layer.name, pad.layer.type = "pad1", "padding"
    conv = net.layers.add()
    conv.layer.name, conv.layer.type = "conv1", "conv"
    conv.layer.blobs.extend([blob((4, 1, 5, 5), legacy=True), blob((1, 1, 1, 4), legacy=True)])
    ip = net.layers.add()
    ip.layer.name, ip.layer.type = "ip1", "innerproduct"
    ip.layer.blobs.extend([blob((1, 1, 3, 256), legacy=True), blob((1, 1, 1, 3), legacy=True)])
    info = read_caffemodel(write(tmp_path / "v0.caffemodel", net))
    assert info.format == "V0"
    assert [(la.name, la.type, len(la.blobs)) for la in info.layers] == [
        ("conv1", "Convolution", 2), ("ip1", "InnerProduct", 2)]
    assert any("padding" in n for n in info.notes)
    assert match_weights(tiny_net(), info).copied == ["conv1", "ip1"]


def test_v0_unknown_type_is_caffes_upgrade_error(tmp_path: Path) -> None:
    net = caffe_pb2.NetParameter()
    entry = net.layers.add()
    entry.layer.name, entry.layer.type = "x", "warp"
    info = read_caffemodel(write(tmp_path / "v0bad.caffemodel", net))
    with pytest.raises(NetError, match=r"Unknown layer name: warp"):
        match_weights(tiny_net(), info)


def test_mixed_layer_and_layers_is_refused(tmp_path: Path) -> None:
    net = v2_model(TINY_SHAPES)
    net.layers.add(name="old", type=V1.RELU)
    info = read_caffemodel(write(tmp_path / "mixed.caffemodel", net))
    assert info.format == "mixed"
    with pytest.raises(NetError, match=r"Refusing to upgrade inconsistent NetParameter input"):
        match_weights(tiny_net(), info)


def test_double_unpacked_and_diff_values(tmp_path: Path) -> None:
    net = caffe_pb2.NetParameter()
    layer = net.layer.add(name="conv1", type="Convolution")
    layer.blobs.extend([blob((4, 1, 5, 5), double=True), blob((4,), diff=True)])
    raw = bytearray(net.SerializeToString())
    # Append an unpacked float (field 5, wire type 5) to a hand-made blob of a second layer.
    shape = bytes([0x0A, 1, 3])  # BlobShape.dim packed [3]
    floats = b"".join(bytes([0x2D]) + struct.pack("<f", 1.0) for _ in range(3))
    body = bytes([0x3A, len(shape)]) + shape + floats
    layer2 = bytes([0x0A, 3]) + b"ip1" + bytes([0x3A, len(body)]) + body
    raw += bytes([0xA2, 0x06, len(layer2)]) + layer2  # NetParameter.layer (field 100)
    path = tmp_path / "mixedvalues.caffemodel"
    path.write_bytes(bytes(raw))
    assert len(caffe_pb2.NetParameter.FromString(bytes(raw)).layer) == 2  # still valid protobuf
    info = read_caffemodel(path)
    conv = info.layer("conv1")
    assert conv.value_counts == [100, 4]
    assert conv.details[0].double_data_values == 100 and conv.details[1].diff_values == 4
    assert info.weights_values_bytes == 8 * 100 + 4 * 4 + 4 * 3
    assert info.diff_values_bytes == 16
    assert info.layer("ip1").blobs == [(3,)] and info.layer("ip1").value_counts == [3]


def test_binaryproto_mean_file(tmp_path: Path) -> None:
    path = write(tmp_path / "mean.binaryproto", blob((1, 3, 8, 8), legacy=True))
    mean = read_blobproto_shape(path)
    assert mean.shape == (1, 3, 8, 8) and mean.legacy and mean.value_count == 192
    path = write(tmp_path / "mean2.binaryproto", blob((3, 8, 8)))
    assert read_blobproto_shape(path).shape == (3, 8, 8)


def test_truncated_file_names_file_and_offset(tmp_path: Path) -> None:
    data = v2_model(TINY_SHAPES).SerializeToString()
    path = tmp_path / "cut.caffemodel"
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(CaffememError) as err:
        read_caffemodel(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: truncated or corrupt caffemodel at byte ")
    assert "'ip1'" in message and "left in the file" in message


def test_garbage_and_other_files(tmp_path: Path) -> None:
    text = tmp_path / "net.prototxt"
    text.write_text(TINY_NET)
    with pytest.raises(CaffememError, match=r"truncated or corrupt caffemodel at byte \d+"):
        read_caffemodel(text)
    h5 = tmp_path / "w.caffemodel.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(CaffememError, match="HDF5"):
        read_caffemodel(h5)
    with pytest.raises(CaffememError, match="no such file"):
        read_caffemodel(tmp_path / "missing.caffemodel")


def test_empty_file_is_an_empty_net(tmp_path: Path) -> None:
    path = tmp_path / "empty.caffemodel"
    path.write_bytes(b"")
    info = read_caffemodel(path)
    assert info.layers == [] and info.format == "V2"


# --- matching --------------------------------------------------------------------------------------


def test_shape_mismatch_is_caffes_message(tmp_path: Path) -> None:
    shapes = dict(TINY_SHAPES, conv1=[(4, 1, 3, 3), (4,)])
    info = read_caffemodel(write(tmp_path / "bad.caffemodel", v2_model(shapes)))
    with pytest.raises(NetError) as err:
        match_weights(tiny_net(), info)
    assert str(err.value) == (
        f"{info.path}: Cannot copy param 0 weights from layer 'conv1'; shape mismatch.  Source param shape "
        "is 4 1 3 3 (36); target param shape is 4 1 5 5 (100). To learn this layer's parameters from "
        "scratch rather than copying from a saved net, rename the layer.")


def test_legacy_mismatch_reports_4d_source(tmp_path: Path) -> None:
    net = caffe_pb2.NetParameter()
    net.layers.add(name="ip1", type=V1.INNER_PRODUCT).blobs.extend(
        [blob((1, 1, 3, 255), legacy=True), blob((1, 1, 1, 3), legacy=True)])
    info = read_caffemodel(write(tmp_path / "v1bad.caffemodel", net))
    with pytest.raises(NetError, match=r"layer 'ip1'; shape mismatch\.  Source param shape is "
                                       r"1 1 3 255 \(765\); target param shape is 3 256 \(768\)\."):
        match_weights(tiny_net(), info)


def test_blob_count_mismatch(tmp_path: Path) -> None:
    shapes = dict(TINY_SHAPES, ip1=[(3, 256)])
    info = read_caffemodel(write(tmp_path / "nobias.caffemodel", v2_model(shapes)))
    with pytest.raises(NetError, match=r"\(2 vs\. 1\) Incompatible number of blobs for layer ip1$"):
        match_weights(tiny_net(), info)


def test_values_must_fill_the_blob(tmp_path: Path) -> None:
    net = v2_model(TINY_SHAPES)
    del net.layer[1].blobs[1].data[:]  # conv1 bias: shape (4,), no values
    info = read_caffemodel(write(tmp_path / "novalues.caffemodel", net))
    with pytest.raises(NetError, match=r"count_ == proto\.data_size\(\) \(4 vs\. 0\).*layer 'conv1'"):
        match_weights(tiny_net(), info)


def test_ignored_and_unfilled_layers(tmp_path: Path) -> None:
    shapes = {"conv1": TINY_SHAPES["conv1"], "aux_fc": [(5, 5)]}
    info = read_caffemodel(write(tmp_path / "partial.caffemodel", v2_model(shapes)))
    match = match_weights(tiny_net(), info)
    assert match.ignored_source_layers == ["aux_fc"]
    assert match.log_lines == ["Ignoring source layer aux_fc"]
    assert match.unfilled_layers == ["ip1"]
    assert match.ignored_values_bytes == 4 * 25
    assert match.weights_values_bytes == 4 * (100 + 4 + 25) and match.file_bytes == info.file_bytes


def test_hand_built_info_without_details() -> None:
    info = CaffeModelInfo(path="x.caffemodel", file_bytes=5000, format="V2", name="",
                          layers=[WeightsLayer("conv1", "Convolution", [(4, 1, 5, 5), (4,)], [100, 4])])
    assert match_weights(tiny_net(), info).unfilled_layers == ["ip1"]


def test_shape_string() -> None:
    assert shape_string((64, 3, 7, 7)) == "64 3 7 7 (9408)"
    assert shape_string(()) == "(1)"


# --- memory ----------------------------------------------------------------------------------------


def test_loading_estimate_by_format(tmp_path: Path) -> None:
    info = read_caffemodel(write(tmp_path / "tiny.caffemodel", v2_model(TINY_SHAPES)))
    est = loading_estimate(info)
    assert est.values_bytes == info.weights_values_bytes
    assert info.file_bytes <= est.parsed_bytes == est.peak_bytes == loading_bytes(info)
    legacy = CaffeModelInfo(**{**info.__dict__, "format": "V1"})
    assert loading_bytes(legacy) == 3 * est.parsed_bytes
    assert loading_estimate(legacy).held_bytes == 2 * est.parsed_bytes


def test_large_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """A 72 MB caffemodel, written in 1 MB pieces, read with a traced peak far below its size."""
    path = tmp_path / "big.caffemodel"
    specs = [("fc6", "InnerProduct", [(4096, 4096), (4096,)]), ("fc7", "InnerProduct", [(512, 4096), (512,)])]
    size = write_standin_caffemodel(path, specs)
    assert size > 64 * 2**20
    tracemalloc.start()
    try:
        info = read_caffemodel(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 * 2**20, peak
    assert [la.blobs for la in info.layers] == [[(4096, 4096), (4096,)], [(512, 4096), (512,)]]
    assert info.weights_values_bytes == 4 * (4096 * 4096 + 4096 + 512 * 4096 + 512)


def test_file_beyond_caffes_2gb_limit(tmp_path: Path) -> None:
    """A sparse 2.1 GB file: read (values are only seeked over), flagged, refused by match_weights."""
    path = tmp_path / "huge.caffemodel"
    count = (CAFFE_READ_LIMIT // 4) + 2**22
    write_standin_caffemodel(path, [("fc", "InnerProduct", [(count,)])], sparse=True)
    info = read_caffemodel(path)
    assert info.file_bytes > CAFFE_READ_LIMIT and not info.caffe_readable
    assert info.layers[0].blobs == [(count,)] and info.layers[0].value_counts == [count]
    assert any("2147483647" in n for n in info.notes)
    with pytest.raises(NetError, match="Failed to parse NetParameter file"):
        match_weights(tiny_net(), info)


# --- oracle ----------------------------------------------------------------------------------------


def oracle_cases() -> list[Path]:
    return sorted(p.parent for p in ORACLE.glob("*/case.json")) if ORACLE.is_dir() else []


@pytest.mark.skipif(not oracle_cases(), reason="shared/oracle-inference not present")
@pytest.mark.parametrize("case", oracle_cases(), ids=lambda p: p.name)
def test_oracle_layer_lists(case: Path, tmp_path: Path) -> None:
    """Stand-ins written by the shared tool read back as exactly the recorded layers and shapes."""
    record = json.loads((case / "case.json").read_text())
    specs = tmp_path / "layers.json"
    specs.write_text(json.dumps(record["weights_layers"]))
    model = tmp_path / "weights.caffemodel"
    subprocess.run([sys.executable, str(SHARED / "tools" / "standin_weights.py"), str(specs), str(model)],
                   check=True)
    info = read_caffemodel(model)
    got = [{"name": la.name, "type": la.type, "blobs": [list(s) for s in la.blobs]} for la in info.layers]
    # Newer records also give each blob's file offset ("data_offsets"); the shapes are what is compared here.
    assert got == [{k: la[k] for k in ("name", "type", "blobs")} for la in record["weights_layers"]]

    # The deploy net takes what it names and ignores the rest, as Caffe's log says.
    nets = sorted(case.glob("*.prototxt"))
    assert len(nets) == 1
    net = analyze_net(net_from_text(nets[0].read_text(), str(nets[0])), phase=TEST).nets[0]
    match = match_weights(net, info)
    logged = [line.split("Ignoring source layer ", 1)[1].strip()
              for line in (case / "caffe.log").read_text().splitlines() if "Ignoring source layer" in line]
    with_blobs = {la["name"] for la in record["weights_layers"] if la["blobs"]}
    assert match.ignored_source_layers == [name for name in logged if name in with_blobs]
    assert match.unfilled_layers == [] and match.unchecked_layers == []
    # The real snapshot also stores blobless layers and layer parameters: a little more than values.
    assert 0 < record["weights_bytes"] - info.weights_values_bytes < 0.01 * record["weights_bytes"]


def test_every_truncation_and_corruption_is_a_one_line_error(tmp_path: Path) -> None:
    """Cut a small model at every byte, and flip bytes: only CaffememError, never a crash or a hang."""
    net = v2_model({"conv1": [(2, 1, 2, 2), (2,)]})
    net.layers.add(name="old", type=V1.RELU)
    data = net.SerializeToString()
    path = tmp_path / "cut.caffemodel"
    for cut in range(1, len(data)):
        path.write_bytes(data[:cut])
        try:
            read_caffemodel(path)  # a cut at a field boundary is a valid, shorter file
        except CaffememError as err:
            assert "\n" not in str(err) and "at byte" in str(err)
    for i in range(len(data)):
        for value in (0x00, 0xFF, 0x80):
            path.write_bytes(data[:i] + bytes([value]) + data[i + 1:])
            try:
                read_caffemodel(path)
            except CaffememError:
                pass


def test_blob_overrunning_its_layer(tmp_path: Path) -> None:
    inner = bytes([0x3A, 50]) + bytes(10)  # LayerParameter.blobs claiming 50 bytes, 10 present
    layer = bytes([0x0A, 1]) + b"x" + inner
    path = tmp_path / "overrun.caffemodel"
    path.write_bytes(bytes([0xA2, 0x06, len(layer)]) + layer + bytes(100))
    with pytest.raises(CaffememError, match=r"layer #0 'x' blob 0 needs 50 bytes, only 10 left in its "
                                            r"enclosing message"):
        read_caffemodel(path)
