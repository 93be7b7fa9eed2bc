"""A binary .caffemodel analysed as a net: same answer as its prototxt, weights never held in memory.

Caffe can build a Net from a caffemodel's NetParameter (it is the whole definition plus the blobs),
upgrading legacy V0/V1 files as it does text ones. caffemem reads the definition with the blobs
seeked over, so a multi-GB model costs what its prototxt costs.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from click.testing import CliRunner
from google.protobuf import text_format

from caffemem.cli import main
from caffemem.net.caffemodel import read_net_skeleton, read_net_skeleton_info
from caffemem.proto import caffe_pb2

V1 = caffe_pb2.V1LayerParameter


def filled(shape: tuple[int, ...], legacy: bool = False) -> caffe_pb2.BlobProto:
    """A blob holding values, as a trained model stores them."""
    b = caffe_pb2.BlobProto()
    n = 1
    for d in shape:
        n *= d
    if legacy:
        b.num, b.channels, b.height, b.width = shape
    else:
        b.shape.dim.extend(shape)
    b.data.extend([0.25] * n)
    return b


def v2_net() -> caffe_pb2.NetParameter:
    """DummyData + conv + ip + loss, with a TEST-only accuracy layer (phase rules survive the skeleton)."""
    net = caffe_pb2.NetParameter(name="tiny_v2")
    data = net.layer.add(name="data", type="DummyData", top=["data", "label"])
    data.dummy_data_param.shape.add(dim=[2, 3, 16, 16])
    data.dummy_data_param.shape.add(dim=[2])
    conv = net.layer.add(name="conv1", type="Convolution", bottom=["data"], top=["conv1"])
    conv.convolution_param.num_output = 4
    conv.convolution_param.kernel_size.append(3)
    conv.param.add(lr_mult=1)
    conv.param.add(lr_mult=2)
    net.layer.add(name="relu1", type="ReLU", bottom=["conv1"], top=["conv1"])
    ip = net.layer.add(name="ip1", type="InnerProduct", bottom=["conv1"], top=["ip1"])
    ip.inner_product_param.num_output = 5
    net.layer.add(name="loss", type="SoftmaxWithLoss", bottom=["ip1", "label"], top=["loss"])
    acc = net.layer.add(name="accuracy", type="Accuracy", bottom=["ip1", "label"], top=["accuracy"])
    acc.include.add(phase=caffe_pb2.TEST)
    return net


def with_v2_blobs(net: caffe_pb2.NetParameter) -> caffe_pb2.NetParameter:
    trained = caffe_pb2.NetParameter()
    trained.CopyFrom(net)
    for layer in trained.layer:
        if layer.name == "conv1":
            layer.blobs.extend([filled((4, 3, 3, 3)), filled((4,))])
        elif layer.name == "ip1":
            layer.blobs.extend([filled((5, 4 * 14 * 14)), filled((5,))])
    return trained


def v1_net(blobs: bool) -> caffe_pb2.NetParameter:
    """A 2014-style net: ``input``/``input_dim``, enum types, ``blobs_lr``, legacy 4-D blobs."""
    net = caffe_pb2.NetParameter(name="tiny_v1")
    net.input.extend(["data", "label"])
    net.input_dim.extend([2, 1, 12, 12, 2, 1, 1, 1])
    conv = net.layers.add(name="conv1", type=V1.CONVOLUTION, bottom=["data"], top=["conv1"])
    conv.convolution_param.num_output = 3
    conv.convolution_param.kernel_size.append(5)
    conv.blobs_lr.extend([1, 2])
    conv.weight_decay.extend([1, 0])
    ip = net.layers.add(name="ip1", type=V1.INNER_PRODUCT, bottom=["conv1"], top=["ip1"])
    ip.inner_product_param.num_output = 10
    ip.blobs_lr.extend([1, 2])
    net.layers.add(name="loss", type=V1.SOFTMAX_LOSS, bottom=["ip1", "label"], top=["loss"])
    if blobs:
        conv.blobs.extend([filled((3, 1, 5, 5), legacy=True), filled((1, 1, 1, 3), legacy=True)])
        ip.blobs.extend([filled((1, 1, 10, 3 * 8 * 8), legacy=True), filled((1, 1, 1, 10), legacy=True)])
    return net


def check_json(path: Path, *args: str) -> dict:
    result = CliRunner().invoke(main, ["check", str(path), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def comparable(data: dict) -> dict:
    """What must not depend on the file format: nets (layers, shapes, params, memory) and the footprint."""
    return {"kind": data["kind"], "upgrades": data["upgrades"], "nets": data["nets"], "footprint": data["footprint"]}


def test_v2_caffemodel_analyses_like_its_prototxt(tmp_path: Path) -> None:
    net = v2_net()
    text = tmp_path / "tiny.prototxt"
    text.write_text(text_format.MessageToString(net))
    binary = tmp_path / "tiny.caffemodel"
    binary.write_bytes(with_v2_blobs(net).SerializeToString())

    from_text, from_binary = check_json(text), check_json(binary)
    assert from_binary["kind"] == "net"
    assert comparable(from_binary) == comparable(from_text)
    train = from_binary["nets"][0]
    assert [layer["name"] for layer in train["layers"]] == ["data", "conv1", "relu1", "ip1", "loss"]
    shapes = {top["name"]: top["shape"] for layer in train["layers"] for top in layer["tops"]}
    assert shapes["conv1"] == [2, 4, 14, 14] and shapes["ip1"] == [2, 5]
    assert train["memory_required_for_data"] > 0
    assert [net["phase"] for net in from_binary["nets"]] == ["TRAIN", "TEST"]  # the include rule survived

    # --phase and friends work on a caffemodel as on text.
    assert comparable(check_json(binary, "--phase", "TEST")) == comparable(check_json(text, "--phase", "TEST"))


def test_skeleton_is_the_net_without_blobs(tmp_path: Path) -> None:
    """Everything but the blobs comes through byte for byte (protobuf parses the same message)."""
    trained = with_v2_blobs(v2_net())
    path = tmp_path / "tiny.caffemodel"
    path.write_bytes(trained.SerializeToString())
    info = read_net_skeleton_info(path)
    assert info.param == v2_net()
    assert info.dropped_blobs == 4
    assert info.kept_bytes == v2_net().ByteSize()  # same bytes as the definition serialized on its own
    assert info.kept_bytes + info.dropped_bytes < info.file_bytes  # layer lengths shrank with their blobs


def test_v1_caffemodel_is_upgraded_like_its_prototxt(tmp_path: Path) -> None:
    text = tmp_path / "old.prototxt"
    text.write_text(text_format.MessageToString(v1_net(blobs=False)))
    binary = tmp_path / "old.caffemodel"
    binary.write_bytes(v1_net(blobs=True).SerializeToString())

    assert not read_net_skeleton(binary).layers[0].blobs
    from_text, from_binary = check_json(text), check_json(binary)
    assert comparable(from_binary) == comparable(from_text)
    assert from_binary["upgrades"]  # V1 -> V2 (and input fields) applied to the binary net too
    layers = {layer["name"]: layer for layer in from_binary["nets"][0]["layers"]}
    assert layers["conv1"]["type"] == "Convolution"
    assert [p["lr_mult"] for p in layers["conv1"]["params"]] == [1, 2]  # blobs_lr became param specs
    assert [p["shape"] for p in layers["conv1"]["params"]] == [[3, 1, 5, 5], [3]]


def test_v0_nested_layer_blobs_are_dropped(tmp_path: Path) -> None:
    net = caffe_pb2.NetParameter(name="v0")
    entry = net.layers.add()
    entry.layer.name = "conv1"
    entry.layer.type = "conv"
    entry.layer.num_output = 2
    entry.layer.blobs.extend([filled((2, 1, 3, 3), legacy=True)])
    entry.bottom.append("data")
    entry.top.append("conv1")
    path = tmp_path / "v0.caffemodel"
    path.write_bytes(net.SerializeToString())
    skeleton = read_net_skeleton(path)
    assert skeleton.layers[0].layer.name == "conv1" and skeleton.layers[0].layer.num_output == 2
    assert not skeleton.layers[0].layer.blobs and list(skeleton.layers[0].bottom) == ["data"]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, body_len: int) -> bytes:
    return _varint(number << 3 | 2) + _varint(body_len)


def write_big_model(path: Path, inputs: int, outputs: int) -> int:
    """Input + InnerProduct whose weight blob is streamed to disk; return the weight bytes."""
    net = caffe_pb2.NetParameter(name="big")
    data = net.layer.add(name="data", type="Input", top=["data"])
    data.input_param.shape.add(dim=[1, inputs])
    ip = caffe_pb2.LayerParameter(name="ip", type="InnerProduct", bottom=["data"], top=["ip"])
    ip.inner_product_param.num_output = outputs
    ip.inner_product_param.bias_term = False
    weight_bytes = 4 * inputs * outputs
    shape = caffe_pb2.BlobShape(dim=[outputs, inputs]).SerializeToString()
    blob_head = _field(7, len(shape)) + shape + _field(5, weight_bytes)  # BlobProto.shape, BlobProto.data
    blob_len = len(blob_head) + weight_bytes
    ip_head = ip.SerializeToString() + _field(7, blob_len) + blob_head  # LayerParameter.blobs
    chunk = bytes(1 << 20)
    with open(path, "wb") as f:
        f.write(net.SerializeToString())
        f.write(_field(100, len(ip_head) + weight_bytes) + ip_head)  # NetParameter.layer
        left = weight_bytes
        while left:
            step = min(left, len(chunk))
            f.write(chunk[:step])
            left -= step
    return weight_bytes


def test_large_caffemodel_memory_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.caffemodel"
    weight_bytes = write_big_model(path, 4200, 4096)
    assert path.stat().st_size > 64 * 2**20

    check_json(tmp_path / "big.caffemodel")  # warm up: imports and caches are not what is measured
    tracemalloc.start()
    try:
        info = read_net_skeleton_info(path)
        data = check_json(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.kept_bytes < 1024  # protobuf only ever parses this much
    assert info.dropped_bytes > weight_bytes
    assert peak < 4 * 2**20, peak
    ip = next(layer for layer in data["nets"][0]["layers"] if layer["name"] == "ip")
    assert ip["params"] == [{"shape": [4096, 4200], "lr_mult": 1.0}]
    assert ip["tops"][0]["shape"] == [1, 4096]


def test_truncated_caffemodel_is_one_line_error(tmp_path: Path) -> None:
    whole = with_v2_blobs(v2_net()).SerializeToString()
    path = tmp_path / "cut.caffemodel"
    path.write_bytes(whole[: len(whole) - 500])  # ends inside ip1's weights
    result = CliRunner().invoke(main, ["check", str(path), "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(path) in lines[0] and "at byte" in lines[0] and "layer #3" in lines[0]


def test_mean_file_given_as_net(tmp_path: Path) -> None:
    mean = filled((1, 3, 8, 8), legacy=True)
    for name in ("mean.binaryproto", "mean.caffemodel", "mean.bin"):
        path = tmp_path / name
        path.write_bytes(mean.SerializeToString())
        result = CliRunner().invoke(main, ["check", str(path)])
        assert result.exit_code == 2, (name, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, name
        assert "mean/blob file" in lines[0] and "not a net" in lines[0] and "[1, 3, 8, 8]" in lines[0], lines[0]


def test_text_nets_and_solvers_unaffected(tmp_path: Path) -> None:
    """Text files, including ones with Latin-1 comments, are still read as text."""
    net = tmp_path / "net.prototxt"
    net.write_bytes(text_format.MessageToString(v2_net()).encode() + "# caf\xe9\n".encode("latin-1"))
    assert check_json(net)["kind"] == "net"
    solver = tmp_path / "solver.prototxt"
    solver.write_text('net: "net.prototxt"\nbase_lr: 0.01\n')
    assert check_json(solver)["kind"] == "solver"


def test_empty_and_garbage_binary_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.caffemodel"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["check", str(empty)])
    assert result.exit_code == 2 and "is empty (0 bytes)" in result.stderr

    garbage = tmp_path / "net.prototxt"
    garbage.write_bytes(b"garbage\x01\x02\xff\xff")
    result = CliRunner().invoke(main, ["check", str(garbage)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "neither a text prototxt" in result.stderr and "at byte 0" in result.stderr
