"""What the layer tests share: one layer set up from its prototxt text, and the footprint of a
small net with the memory each layer owns, in 4-byte elements."""

from __future__ import annotations

from caffemem.categories import Category as C
from caffemem.layers.registry import BuildOptions, Layer, SetupContext, Shape, layer_class
from caffemem.memory.model import RunFootprint, run_footprint
from caffemem.net.build import build_net
from caffemem.net.prototxt import parse_text
from caffemem.net.state import TEST, TRAIN, compose_state
from caffemem.proto import caffe_pb2


def make(text: str, phase: int = caffe_pb2.TEST, **options: object) -> Layer:
    param = caffe_pb2.LayerParameter()
    assert parse_text(text, param) == []
    cls = layer_class(param.type)
    assert cls is not None, param.type
    layer = cls(param, SetupContext(phase=phase, options=BuildOptions(**options)))  # type: ignore[arg-type]
    layer.n_tops += layer.auto_top_count()
    return layer


def tops(text: str, *bottoms: Shape, **options: object) -> list[Shape | None]:
    layer = make(text, **options)
    layer.check_counts(len(bottoms), layer.n_tops)
    return layer.reshape(list(bottoms))


def footprint(text: str, mode: str = "cpu", role: str = "train") -> RunFootprint:
    param = caffe_pb2.NetParameter()
    parse_text(text, param, "fork")
    phase = TRAIN if role == "train" else TEST
    net = build_net(param, compose_state(phase), SetupContext(phase, BuildOptions(), "fork"))
    return run_footprint([net], [role], mode)


def buffers(fp: RunFootprint, layer: str) -> int:
    """Layer-buffer elements of one layer."""
    return fp.nets[0].by_layer.get(layer, {}).get(C.LAYER_BUFFERS, 0) // 4


def grads(fp: RunFootprint, layer: str) -> int:
    """Gradient elements of the tops a layer produced."""
    return fp.nets[0].by_layer.get(layer, {}).get(C.ACTIVATION_GRADIENTS, 0) // 4

