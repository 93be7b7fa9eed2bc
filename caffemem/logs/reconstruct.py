"""A net rebuilt from what a log shows, when the log has no echoed net text and none is given.

Caffe's set-up lines give every layer's name, bottoms, tops and top shapes, but not its type or
parameters. The shapes are usually enough to recognise the layers that matter for memory: a layer
turning ``[N, C, H, W]`` into ``[N, K]`` is fully connected with ``K * C*H*W`` weights; a 4-D layer
that changes channels is a convolution whose kernel the spatial sizes reveal (assuming stride 1
and no padding when nothing else fits). Every such guess is listed, and the rebuilt net is checked
against the logged shapes, so the footprint built on it says how sure it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from caffemem.layers.registry import count
from caffemem.logs.model import Net
from caffemem.proto import caffe_pb2

Dims = list[int]
#: Configures a layer as the type its shapes suggest; returns the guess to report ("" for none).
Configure = Callable[[caffe_pb2.LayerParameter, list[Dims], list[Dims]], str]


@dataclass
class Reconstruction:
    param: caffe_pb2.NetParameter
    guesses: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _conv_geometry(h_in: int, w_in: int, h_out: int, w_out: int) -> tuple[int, int, int] | None:
    """(kernel, stride, pad) of a square convolution mapping the sizes; the plainest first."""
    for stride in (1, 2, 3, 4):
        for kernel in range(1, 16):
            for pad in range(0, kernel // 2 + 1):
                if (h_in + 2 * pad - kernel) // stride + 1 == h_out and \
                        (w_in + 2 * pad - kernel) // stride + 1 == w_out:
                    return kernel, stride, pad
    return None


def _pool_geometry(h_in: int, w_in: int, h_out: int, w_out: int) -> tuple[int, int] | None:
    for kernel in range(1, 8):
        for stride in range(1, kernel + 1):
            if -(-(h_in - kernel) // stride) + 1 == h_out and -(-(w_in - kernel) // stride) + 1 == w_out:
                return kernel, stride
    return None


def reconstruct(net: Net) -> Reconstruction:
    """A NetParameter whose layers produce the logged shapes, with the guesses it took."""
    out = caffe_pb2.NetParameter()
    out.name = "rebuilt from log"
    rec = Reconstruction(out)
    shapes: dict[str, list[int] | None] = {}
    alias: dict[str, str] = {}  # split top -> the blob it copies
    for logged in net.layers:
        tops = [t for t in logged.tops if t.name]
        if logged.name.endswith("_split") and len(logged.bottoms) == 1:
            for t in tops:  # Caffe inserts split layers again itself: consumers read the blob
                alias[t.name or ""] = alias.get(logged.bottoms[0], logged.bottoms[0])
            continue
        layer = out.layer.add()
        layer.name = logged.name
        layer.top.extend(t.name or "" for t in tops)
        bottoms = [alias.get(b, b) for b in logged.bottoms]
        bshapes = [shapes.get(b) for b in bottoms]
        tshapes = [t.shape for t in tops]
        kind = _guess(bshapes, tshapes, bottoms, [t.name or "" for t in tops])
        if not bottoms and logged.type_hint and _as_logged_data(layer, logged.type_hint, tshapes):
            rec.guesses.append(f"{logged.name}: {layer.type} (its set-up lines say so), with the logged shapes")
        elif kind is None or any(s is None for s in tshapes) or any(s is None for s in bshapes):
            _as_data(layer, tshapes)
            rec.unknown.append(logged.name)
        else:
            layer.bottom.extend(bottoms)
            note = kind(layer, [b for b in bshapes if b is not None], [t for t in tshapes if t is not None])
            if note:
                rec.guesses.append(f"{logged.name}: {note}")
        for t in tops:
            shapes[t.name or ""] = t.shape
    return rec


def _as_logged_data(layer: caffe_pb2.LayerParameter, hint: str, tshapes: list[list[int] | None]) -> bool:
    """A prefetching data layer producing exactly the logged shapes, so its prefetch is counted."""
    data = tshapes[0] if tshapes else None
    if not data or len(data) != 4 or any(s is None for s in tshapes):
        return False
    n, c, h, w = data
    if hint == "ImageData" and c in (1, 3) and len(tshapes) == 2:
        layer.type = "ImageData"
        p = layer.image_data_param
        p.batch_size, p.new_height, p.new_width, p.is_color = n, h, w, c == 3
        return True
    if hint == "Data" and c == 3 and h == w:  # crop_size gives H and W; 3 channels is what Data assumes
        layer.type = "Data"
        layer.data_param.batch_size = n
        layer.data_param.source = "(from log)"
        layer.transform_param.crop_size = h
        return True
    return False


def _as_data(layer: caffe_pb2.LayerParameter, tshapes: list[list[int] | None]) -> None:
    """A layer we cannot recognise: its tops come from nowhere, with the logged shapes."""
    layer.type = "DummyData"
    del layer.bottom[:]
    for s in tshapes:
        layer.dummy_data_param.shape.add().dim.extend(s or [1])


def _guess(bshapes: list[Dims | None], tshapes: list[Dims | None], bottoms: list[str],
           tops: list[str]) -> Configure | None:
    """A function that configures the layer as the type its shapes suggest, or None."""
    if not bshapes:
        return _data_from_shapes
    if any(s is None for s in bshapes) or any(s is None for s in tshapes):
        return None
    b0, t0 = bshapes[0], tshapes[0] if tshapes else None
    if t0 == [] and len(bshapes) >= 2:  # a scalar top with two bottoms: a loss
        if len(b0) >= 2 and count(bshapes[1]) * b0[1] == count(b0):
            return _setter("SoftmaxWithLoss", "assumed SoftmaxWithLoss (scalar loss of predictions and labels)")
        return _setter("EuclideanLoss", "assumed EuclideanLoss")
    if len(tshapes) == 1 and len(bshapes) == 1 and tops[0] == bottoms[0] and t0 == b0:
        return _setter("ReLU", "")  # in place, same shape: an element-wise layer
    if len(tshapes) == 1 and len(bshapes) == 1 and len(t0) == 2 and t0[0] == b0[0] and len(b0) >= 2:
        def inner_product(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
            layer.type = "InnerProduct"
            layer.inner_product_param.num_output = t[0][1]
            return f"InnerProduct with {t[0][1]} outputs ({t[0][1] * (count(b[0][1:]) + 1):,} weights with bias)"
        return inner_product
    if len(tshapes) == 1 and len(bshapes) == 1 and len(t0) == 4 and len(b0) == 4 and t0[0] == b0[0]:
        if t0 == b0:
            return _setter("ReLU", "same shape: assumed element-wise, no weights")
        if t0[2] <= b0[2] and t0[3] <= b0[3]:
            if t0[1] == b0[1]:
                geo = _pool_geometry(b0[2], b0[3], t0[2], t0[3])
                if geo is not None:
                    def pooling(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims],
                                geo: tuple[int, int] = geo) -> str:
                        layer.type = "Pooling"
                        layer.pooling_param.kernel_size, layer.pooling_param.stride = geo
                        return f"Pooling (MAX, kernel {geo[0]}, stride {geo[1]}) from its shapes"
                    return pooling
            geo3 = _conv_geometry(b0[2], b0[3], t0[2], t0[3])
            if geo3 is not None:
                def convolution(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims],
                                geo: tuple[int, int, int] = geo3) -> str:
                    layer.type = "Convolution"
                    cp = layer.convolution_param
                    cp.num_output = t[0][1]
                    cp.kernel_size.append(geo[0])
                    if geo[1] != 1:
                        cp.stride.append(geo[1])
                    if geo[2]:
                        cp.pad.append(geo[2])
                    return (f"Convolution {b[0][1]}->{t[0][1]} channels, kernel {geo[0]}, stride {geo[1]}, "
                            f"pad {geo[2]} (from its shapes)")
                return convolution
    if len(tshapes) == 1 and len(bshapes) > 1 and all(s == b0 for s in bshapes) and t0 == b0:
        return _setter("Eltwise", "")
    if len(tshapes) == 1 and len(bshapes) > 1 and all(len(s) == len(b0) for s in bshapes) and len(b0) > 1 \
            and t0[1] == sum(s[1] for s in bshapes):
        return _setter("Concat", "")
    return None


def _data_from_shapes(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
    _as_data(layer, list(t))
    return ""


def _setter(type_name: str, note: str) -> Configure:
    def apply(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
        layer.type = type_name
        return note
    return apply
