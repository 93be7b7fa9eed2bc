"""A net rebuilt from what a log shows, when the log has no complete echoed net text and none is given.

Caffe's set-up lines give every layer's name, bottoms, tops and top shapes, but not its type or
parameters. Where the log echoed the net but glog cut the message (every message is cut at 30,000
bytes, so big nets lose their tail), the layers printed in full are taken as they are, and each
later layer is typed and sized from an echoed layer whose name follows the same pattern
(``layer_512_1_conv1`` after ``layer_256_1_conv1``), checked against the logged shapes. Only then do
the shapes alone decide, with the common geometries first (1x1, 3x3 pad 1, 7x7 stride 2 pad 3, 2x2
and 3x3 stride-2 pooling). A layer nothing explains keeps its logged tops and is listed as unknown.
Every guess is listed, so the footprint built on it says how sure it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from google.protobuf import text_format

from caffemem.layers import catalogue  # noqa: F401  (registers every layer type)
from caffemem.layers.registry import SetupContext, count, layer_class
from caffemem.logs.model import Net, Top
from caffemem.proto import caffe_pb2

Dims = list[int]
#: Configures a layer as the type its shapes suggest; returns the guess to report ("" for none).
Configure = Callable[[caffe_pb2.LayerParameter, list[Dims], list[Dims]], str]
#: Largest dim a rebuilt blob may have (Caffe's blobs hold at most INT_MAX elements).
MAX_DIM = 2**31 - 1
#: Convolution geometries (kernel, stride, pad), the common ones first.
COMMON_CONV = ((1, 1, 0), (1, 2, 0), (3, 1, 1), (3, 2, 1), (7, 2, 3), (3, 1, 0), (3, 2, 0), (5, 1, 2),
               (11, 4, 0), (5, 2, 2), (2, 2, 0))
#: Pooling geometries (kernel, stride), the common ones first (Caffe's pooling rounds up).
COMMON_POOL = ((2, 2), (3, 2), (3, 1), (3, 3))
#: A kernel guessed from shapes alone above this is implausible: its weights are likely overstated.
PLAUSIBLE_KERNEL = 7
DATA_DEPENDENT_TYPES = frozenset({"AnnotatedData", "Python", "Proposal", "ProposalLayer", "DetectionOutput",
                                  "DetectionEvaluate", "MultiBoxLoss"})


@dataclass
class Reconstruction:
    param: caffe_pb2.NetParameter
    guesses: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    logged_tops: dict[str, list[Dims | None]] = field(default_factory=dict)  # layer -> its logged top shapes
    from_echo: int = 0  # layers taken as the truncated echo printed them
    from_pattern: int = 0  # layers typed after an echoed layer of the same name pattern
    implausible: list[str] = field(default_factory=list)  # guesses whose weights are likely overstated

    @property
    def estimated(self) -> bool:
        return bool(self.guesses or self.unknown or self.from_pattern)


def complete_layers(text: str) -> caffe_pb2.NetParameter | None:
    """The part of a cut echo made of whole top-level blocks, parsed (None when nothing is whole)."""
    end = text.rfind("\n}\n")
    if end < 0 and text.endswith("\n}"):
        end = len(text) - 2
    if end < 0:
        return None
    head = text[: end + 2]
    param = caffe_pb2.NetParameter()
    try:
        text_format.Parse(head, param)
    except Exception:  # a fork's field our schema lacks, or a cut we cannot mend: shapes alone then
        return None
    return param if (param.layer or param.layers) else None


def _clean(shape: list[int] | None) -> Dims | None:
    if shape is None or any(d < 0 or d > MAX_DIM for d in shape):
        return None
    return list(shape)


def reconstruct(net: Net, echoed: caffe_pb2.NetParameter | None = None) -> Reconstruction:
    """A NetParameter whose layers produce the logged shapes, with the guesses it took.

    ``echoed``: the whole layers of a cut echo of this net; they are used as printed, and they are
    the patterns later layers are typed from.
    """
    out = caffe_pb2.NetParameter()
    out.name = "rebuilt from log"
    rec = Reconstruction(out)
    echo_layers: dict[str, caffe_pb2.LayerParameter] = {}
    if echoed is not None:
        out.name = echoed.name or out.name
        for f in ("input", "input_dim"):
            getattr(out, f).extend(getattr(echoed, f))
        for s in echoed.input_shape:
            out.input_shape.add().CopyFrom(s)
        if echoed.HasField("state"):
            out.state.CopyFrom(echoed.state)
        echo_layers = {lp.name: lp for lp in echoed.layer}
    patterns: dict[str, list[caffe_pb2.LayerParameter]] = {}
    for lp in echo_layers.values():
        for key in _keys(lp.name):
            patterns.setdefault(key, []).append(lp)
    shapes: dict[str, Dims | None] = {n: list(s.dim) for n, s in zip(out.input, out.input_shape, strict=False)}
    alias: dict[str, str] = {}  # split top -> the blob it copies
    for logged in net.layers:
        tops = [t for t in logged.tops if t.name]
        if not tops and not logged.bottoms and any(t.shape for t in logged.tops):
            # A fragment that starts inside a layer's set-up: its 'Top shape' lines without the names
            # above them. The blobs still hold memory: keep them under names nothing else uses.
            tops = [Top(f"(top {k} of a layer the log cut)", t.shape, t.count) for k, t in enumerate(logged.tops)]
        tshapes = [_clean(t.shape) for t in tops]
        if not tops and not logged.bottoms:
            rec.unknown.append(logged.name)  # the log stops before the layer named any blob: nothing to build
            continue
        rec.logged_tops[logged.name] = tshapes
        if logged.name in echo_layers:
            out.layer.add().CopyFrom(echo_layers[logged.name])
            rec.from_echo += 1
            for t, s in zip(tops, tshapes, strict=True):
                shapes[t.name or ""] = s
            continue
        if logged.name.endswith("_split") and len(logged.bottoms) == 1:
            for t in tops:  # Caffe inserts split layers again itself: consumers read the blob
                alias[t.name or ""] = alias.get(logged.bottoms[0], logged.bottoms[0])
            continue
        layer = out.layer.add()
        layer.name = logged.name
        layer.top.extend(t.name or "" for t in tops)
        bottoms = [alias.get(b, b) for b in logged.bottoms]
        bshapes = [shapes.get(b) for b in bottoms]
        known = all(s is not None for s in bshapes) and all(s is not None for s in tshapes)
        b = [s for s in bshapes if s is not None]
        t = [s for s in tshapes if s is not None]
        if not bottoms:
            if logged.type_hint and _as_logged_data(layer, logged.type_hint, tshapes):
                rec.guesses.append(f"{logged.name}: {layer.type} (its set-up lines say so), with the logged shapes")
            else:
                _as_data(layer, tshapes)
                if any(s is None for s in tshapes):
                    rec.unknown.append(logged.name)
        elif known and _from_pattern(layer, patterns, bottoms, b, t):
            rec.from_pattern += 1
        elif known and (note := _first_fit(layer, bottoms, b, t)) is not None:
            if note:
                rec.guesses.append(f"{logged.name}: {note}")
            if layer.type == "Convolution" and layer.convolution_param.kernel_size and \
                    layer.convolution_param.kernel_size[0] > PLAUSIBLE_KERNEL:
                rec.implausible.append(logged.name)
        else:
            _unknown(layer, bottoms, tshapes)
            rec.unknown.append(logged.name)
        for top, s in zip(tops, tshapes, strict=True):
            shapes[top.name or ""] = s
    return rec


def _keys(name: str) -> list[str]:
    """Name patterns, the most specific first: numbers that stand alone, then all but the last word's."""
    words = name.split("_")
    alone = "_".join("#" if w.isdigit() else w for w in words)
    head = "_".join(re.sub(r"\d+", "#", w) for w in words[:-1]) + ("_" if len(words) > 1 else "") + words[-1]
    every = re.sub(r"\d+", "#", name)
    return list(dict.fromkeys((alone, head, every)))


def _fits(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> bool:
    """Whether Caffe's rule for this layer turns the logged bottoms into the logged tops."""
    cls = layer_class(layer.type)
    if cls is None:
        return False
    try:
        impl = cls(layer, SetupContext())
        impl.n_tops = len(layer.top) + impl.auto_top_count()
        impl.check_counts(len(layer.bottom), impl.n_tops)
        got = impl.reshape([tuple(s) for s in b])
    except Exception:  # any rule refusing these shapes: not this type
        return False
    if len(got) < len(t):
        return False
    return all(g is not None and list(g) == want for g, want in zip(got, t, strict=False))


def _from_pattern(layer: caffe_pb2.LayerParameter, patterns: dict[str, list[caffe_pb2.LayerParameter]],
                  bottoms: list[str], b: list[Dims], t: list[Dims]) -> bool:
    """Type the layer after the latest echoed layer of its name pattern that gives the logged shapes."""
    tops = list(layer.top)
    for key in _keys(layer.name):
        for template in reversed(patterns.get(key, [])):
            if len(template.bottom) != len(bottoms) or len(template.top) != len(tops):
                continue
            trial = caffe_pb2.LayerParameter()
            trial.CopyFrom(template)
            trial.name = layer.name
            del trial.bottom[:], trial.top[:]
            trial.bottom.extend(bottoms)
            trial.top.extend(tops)
            if t and len(t[0]) >= 2:
                _resize(trial, template, t[0][1])
            if _fits(trial, b, t):
                layer.CopyFrom(trial)
                return True
    return False


def _resize(trial: caffe_pb2.LayerParameter, template: caffe_pb2.LayerParameter, channels: int) -> None:
    """The template's outputs set to the logged channels (depthwise groups follow)."""
    for fname in ("convolution_param", "inner_product_param"):
        if trial.HasField(fname):
            p = getattr(trial, fname)
            old = p.num_output
            p.num_output = channels
            if fname == "convolution_param" and p.group > 1 and p.group == old:
                p.group = channels


def _unknown(layer: caffe_pb2.LayerParameter, bottoms: list[str], tshapes: list[Dims | None]) -> None:
    """A layer nothing explains: it consumes its bottoms (no tops) or gives its logged tops from nowhere."""
    if not tshapes:
        layer.type = "Silence"
        layer.bottom.extend(bottoms)
        return
    _as_data(layer, tshapes)


def _as_logged_data(layer: caffe_pb2.LayerParameter, hint: str, tshapes: list[Dims | None]) -> bool:
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


def _as_data(layer: caffe_pb2.LayerParameter, tshapes: list[Dims | None]) -> None:
    """A layer we cannot recognise: its tops come from nowhere, with the logged shapes."""
    layer.type = "DummyData"
    del layer.bottom[:]
    for s in tshapes:
        layer.dummy_data_param.shape.add().dim.extend(s or [1])


def _first_fit(layer: caffe_pb2.LayerParameter, bottoms: list[str], b: list[Dims], t: list[Dims]) -> str | None:
    """Configure the layer as the first candidate type whose rule gives the logged shapes; its note."""
    for configure in _candidates(layer.name, bottoms, list(layer.top), b, t):
        trial = caffe_pb2.LayerParameter()
        trial.name = layer.name
        trial.bottom.extend(bottoms)
        trial.top.extend(layer.top)
        try:
            note = configure(trial, b, t)
        except Exception:  # a shape no parameter can hold (a 100-digit channel count): not this type
            continue
        if _fits(trial, b, t):
            layer.CopyFrom(trial)
            return note
    return None


def _named(name: str, *words: str) -> bool:
    low = name.lower()
    return any(w in low for w in words)


def _candidates(name: str, bottoms: list[str], tops: list[str], b: list[Dims], t: list[Dims]) -> Iterator[Configure]:
    if not t:
        return
    b0, t0 = b[0], t[0]
    if t0 == [] and _named(name, "accuracy") and len(b) >= 2:
        yield _setter("Accuracy", "assumed Accuracy (from its name)")
    if t0 == [] and len(b) == 4 and len(b0) == 2 and len(b[1]) == 2 and b0[1] % 4 == 0 and b0[1]:
        yield _multibox(b[1][1] // (b0[1] // 4))
    if t0 == [] and len(b) >= 2:  # a scalar top: a loss
        if len(b) == 2 and len(b0) >= 2 and count(b[1]) * b0[1] == count(b0):
            yield _setter("SoftmaxWithLoss", "assumed SoftmaxWithLoss (scalar loss of predictions and labels)")
        if len(b) == 2:
            yield _setter("EuclideanLoss", "assumed EuclideanLoss")
        return
    if len(t) != 1:
        return
    if len(b) == 1 and t0 == b0:
        inplace = tops[0] == bottoms[0]
        if not inplace and _named(name, "conv") and len(b0) == 4:
            yield _conv((3, 1, 1))
            yield _conv((1, 1, 0))
        if _named(name, "bn", "batchnorm", "batch_norm") and len(b0) >= 2:
            yield _setter("BatchNorm", "" if inplace else "same shape: assumed BatchNorm")
        if _named(name, "scale") and len(b0) >= 2:
            yield _scale
        yield _setter("ReLU", "" if inplace else "same shape: assumed element-wise, no weights")
        return
    if len(b) == 1 and t0 != b0 and count(t0) == count(b0) and len(t0) >= 1 and t0[0] == b0[0]:
        if len(t0) == 2:
            yield _setter("Flatten", "same count, fewer axes: assumed Flatten")
        if len(t0) == len(b0) and sorted(t0) == sorted(b0) and len(set(b0)) == len(b0):
            yield _permute([b0.index(d) for d in t0])
        yield _reshape
    if len(b) == 1 and len(b0) >= 2 and len(t0) == 2 and t0[0] == b0[0]:
        yield _inner_product
    if len(b) == 1 and len(t0) == 4 and len(b0) == 4 and t0[0] == b0[0] and t0[2] <= b0[2] and t0[3] <= b0[3]:
        pool_first = t0[1] == b0[1] and not _named(name, "conv")
        if pool_first:
            yield from (_pool(g) for g in COMMON_POOL)
        yield from (_conv(g) for g in COMMON_CONV)
        if pool_first:
            geo = _pool_geometry(b0[2], b0[3], t0[2], t0[3])
            if geo is not None:
                yield _pool(geo)
        geo3 = _conv_geometry(b0[2], b0[3], t0[2], t0[3])
        if geo3 is not None:
            yield _conv(geo3)
    if len(b) > 1 and all(s == b0 for s in b) and t0 == b0:
        yield _setter("Eltwise", "")
    if len(b) > 1 and all(len(s) == len(b0) for s in b) and len(b0) > 1 and len(t0) == len(b0) \
            and t0[1] == sum(s[1] for s in b):
        yield _setter("Concat", "")


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


def _conv(geo: tuple[int, int, int]) -> Configure:
    def convolution(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
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


def _pool(geo: tuple[int, int]) -> Configure:
    def pooling(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
        layer.type = "Pooling"
        layer.pooling_param.kernel_size, layer.pooling_param.stride = geo
        return f"Pooling (MAX, kernel {geo[0]}, stride {geo[1]}) from its shapes"
    return pooling


def _inner_product(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
    layer.type = "InnerProduct"
    layer.inner_product_param.num_output = t[0][1]
    return f"InnerProduct with {t[0][1]} outputs ({t[0][1] * (count(b[0][1:]) + 1):,} weights with bias)"


def _multibox(classes: int) -> Configure:
    def multibox(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
        layer.type = "MultiBoxLoss"
        layer.multibox_loss_param.num_classes = classes
        return f"assumed SSD's MultiBoxLoss over {classes} classes (from its four bottoms' shapes)"
    return multibox


def _permute(order: list[int]) -> Configure:
    def permute(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
        layer.type = "Permute"
        layer.permute_param.order.extend(order)
        return f"same count, axes reordered: assumed Permute {order}"
    return permute


def _reshape(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
    layer.type = "Reshape"
    layer.reshape_param.shape.dim.extend(t[0])
    return "same count: assumed Reshape"


def _scale(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
    layer.type = "Scale"
    layer.scale_param.bias_term = True
    return "assumed Scale with bias (from its name)"


def _setter(type_name: str, note: str) -> Configure:
    def apply(layer: caffe_pb2.LayerParameter, b: list[Dims], t: list[Dims]) -> str:
        layer.type = type_name
        return note
    return apply
