"""Caffe's V0 -> V1 net upgrade (2013-era ``layers { layer { type: "conv" ... } }`` files).

This is the first step of Caffe's ``UpgradeNetAsNeeded`` (``src/caffe/util/upgrade_proto.cpp``),
rewritten in Python so that caffemem sees exactly the net Caffe would build from an old file:
padding layers folded into their consumers, every V0 field moved to the V1 place Caffe moves it to,
and everything Caffe silently drops (any top-level field other than name, input, input_dim and
force_backward; every field of a ``layers`` entry without a nested V0 ``layer`` except bottom and
top) dropped here too. Only :mod:`caffemem.net.upgrade` is meant to call this module.
"""

from __future__ import annotations

from collections.abc import Callable

from caffemem.errors import NetError
from caffemem.proto import caffe_pb2

V1 = caffe_pb2.V1LayerParameter

#: V0 type strings Caffe knows, and the V1 enum each becomes (``UpgradeV0LayerType``).
#: Note that ``padding`` is absent: padding layers are removed before this mapping is used.
V0_TYPE_TO_V1: dict[str, int] = {
    "accuracy": V1.ACCURACY,
    "bnll": V1.BNLL,
    "concat": V1.CONCAT,
    "conv": V1.CONVOLUTION,
    "data": V1.DATA,
    "dropout": V1.DROPOUT,
    "euclidean_loss": V1.EUCLIDEAN_LOSS,
    "flatten": V1.FLATTEN,
    "hdf5_data": V1.HDF5_DATA,
    "hdf5_output": V1.HDF5_OUTPUT,
    "im2col": V1.IM2COL,
    "images": V1.IMAGE_DATA,
    "infogain_loss": V1.INFOGAIN_LOSS,
    "innerproduct": V1.INNER_PRODUCT,
    "lrn": V1.LRN,
    "multinomial_logistic_loss": V1.MULTINOMIAL_LOGISTIC_LOSS,
    "pool": V1.POOLING,
    "relu": V1.RELU,
    "sigmoid": V1.SIGMOID,
    "softmax": V1.SOFTMAX,
    "softmax_loss": V1.SOFTMAX_LOSS,
    "split": V1.SPLIT,
    "tanh": V1.TANH,
    "window_data": V1.WINDOW_DATA,
}

_V0_POOL_TO_POOLING: dict[int, int] = {
    caffe_pb2.V0LayerParameter.MAX: caffe_pb2.PoolingParameter.MAX,
    caffe_pb2.V0LayerParameter.AVE: caffe_pb2.PoolingParameter.AVE,
    caffe_pb2.V0LayerParameter.STOCHASTIC: caffe_pb2.PoolingParameter.STOCHASTIC,
}


def needs_v0_upgrade(net: caffe_pb2.NetParameter) -> bool:
    """Caffe's ``NetNeedsV0ToV1Upgrade``: any ``layers`` entry carries a nested V0 ``layer``."""
    return any(entry.HasField("layer") for entry in net.layers)


def fold_padding_layers(net: caffe_pb2.NetParameter, source: str) -> tuple[caffe_pb2.NetParameter, int]:
    """Return a copy of ``net`` without V0 ``padding`` layers, and how many were removed.

    Caffe (``UpgradeV0PaddingLayers``) moves each padding layer's ``pad`` into the layer that
    consumes its output and rewires that layer's bottom to the padding layer's input. Caffe CHECKs
    that the consumer is a ``conv`` or ``pool`` with one bottom and that the padding layer has one
    bottom and one top; those failures, and a bottom no earlier layer or input produced, kill Caffe
    and raise :class:`NetError` here.
    """
    folded = caffe_pb2.NetParameter()
    folded.CopyFrom(net)
    del folded.layers[:]
    removed = 0
    # Index of the layer that last wrote each blob; -1 for net inputs.
    last_writer: dict[str, int] = {name: -1 for name in net.input}
    for i, entry in enumerate(net.layers):
        v0 = entry.layer
        if v0.type == "padding":
            removed += 1
        else:
            folded.layers.add().CopyFrom(entry)
        for j, blob in enumerate(entry.bottom):
            if blob not in last_writer:
                # Caffe's message names the bottom's index, not the layer's; kept so that the text
                # matches what Caffe prints.
                raise NetError(f"Unknown blob input {blob} to layer {j}", source=source)
            writer = last_writer[blob]
            if writer == -1:
                continue
            producer = net.layers[writer]
            if producer.layer.type != "padding":
                continue
            if v0.type not in ("conv", "pool"):
                raise NetError(
                    f"Padding layer input to non-convolutional / non-pooling layer type {v0.type}"
                    f" (layer {v0.name!r})", source=source)
            if len(entry.bottom) != 1:
                raise NetError(f"Conv Layer takes a single blob as input (layer {v0.name!r})",
                               source=source)
            if len(producer.bottom) != 1:
                raise NetError("Padding Layer takes a single blob as input "
                               f"(layer {producer.layer.name!r})", source=source)
            if len(producer.top) != 1:
                raise NetError("Padding Layer produces a single blob as output "
                               f"(layer {producer.layer.name!r})", source=source)
            # Caffe edits the most recently kept layer, which is this one (it is conv or pool).
            target = folded.layers[len(folded.layers) - 1]
            target.layer.pad = producer.layer.pad
            target.bottom[j] = producer.bottom[0]
        for blob in entry.top:
            last_writer[blob] = i
    return folded, removed


def _routed(
    type_: str, field: str, targets: dict[str, Callable[[], None]], warnings: list[str]
) -> bool:
    """Apply the setter for ``type_`` or record Caffe's "Unknown parameter" complaint.

    Returns False when the field does not belong to the layer's type, which Caffe counts as
    "not fully compatible" but otherwise ignores: the value is dropped and the upgrade goes on.
    """
    setter = targets.get(type_)
    if setter is None:
        warnings.append(f"Unknown parameter {field} for layer type {type_}")
        return False
    setter()
    return True


def upgrade_v0_layer(entry: caffe_pb2.V1LayerParameter, out: caffe_pb2.V1LayerParameter,
                     source: str, warnings: list[str]) -> bool:
    """Fill ``out`` (cleared first) from one V0-style ``layers`` entry, like ``UpgradeV0LayerParameter``.

    Returns False when some field did not fit the layer's type (Caffe logs an ERROR per field and
    carries on); the messages go to ``warnings``.
    """
    out.Clear()
    out.bottom.extend(entry.bottom)
    out.top.extend(entry.top)
    if not entry.HasField("layer"):
        # Caffe keeps only the connections of an entry that has no V0 layer inside.
        return True
    v0 = entry.layer
    ok = True
    if v0.HasField("name"):
        out.name = v0.name
    t = v0.type
    if v0.HasField("type"):
        if t not in V0_TYPE_TO_V1:
            raise NetError(f"Unknown layer name: {t}", source=source)
        out.type = V0_TYPE_TO_V1[t]
    for blob in v0.blobs:
        out.blobs.add().CopyFrom(blob)
    out.blobs_lr.extend(v0.blobs_lr)
    out.weight_decay.extend(v0.weight_decay)

    def has(field: str) -> bool:
        return v0.HasField(field)

    def route(field: str, targets: dict[str, Callable[[], None]]) -> None:
        nonlocal ok
        if has(field):
            ok &= _routed(t, field, targets, warnings)

    conv = out.convolution_param
    ip = out.inner_product_param
    pool = out.pooling_param

    route("num_output", {
        "conv": lambda: setattr(conv, "num_output", v0.num_output),
        "innerproduct": lambda: setattr(ip, "num_output", v0.num_output),
    })
    route("biasterm", {
        "conv": lambda: setattr(conv, "bias_term", v0.biasterm),
        "innerproduct": lambda: setattr(ip, "bias_term", v0.biasterm),
    })
    route("weight_filler", {
        "conv": lambda: conv.weight_filler.CopyFrom(v0.weight_filler),
        "innerproduct": lambda: ip.weight_filler.CopyFrom(v0.weight_filler),
    })
    route("bias_filler", {
        "conv": lambda: conv.bias_filler.CopyFrom(v0.bias_filler),
        "innerproduct": lambda: ip.bias_filler.CopyFrom(v0.bias_filler),
    })
    route("pad", {
        "conv": lambda: conv.pad.append(v0.pad),
        "pool": lambda: setattr(pool, "pad", v0.pad),
    })
    route("kernelsize", {
        "conv": lambda: conv.kernel_size.append(v0.kernelsize),
        "pool": lambda: setattr(pool, "kernel_size", v0.kernelsize),
    })
    route("group", {"conv": lambda: setattr(conv, "group", v0.group)})
    route("stride", {
        "conv": lambda: conv.stride.append(v0.stride),
        "pool": lambda: setattr(pool, "stride", v0.stride),
    })
    if has("pool"):
        if t == "pool":
            pool.pool = _V0_POOL_TO_POOLING[v0.pool]
        else:
            warnings.append(f"Unknown parameter pool for layer type {t}")
            ok = False
    route("dropout_ratio", {"dropout": lambda: setattr(out.dropout_param, "dropout_ratio",
                                                       v0.dropout_ratio)})
    for field in ("local_size", "alpha", "beta", "k"):
        route(field, {"lrn": lambda f=field: setattr(out.lrn_param, f, getattr(v0, f))})
    route("source", {
        "data": lambda: setattr(out.data_param, "source", v0.source),
        "hdf5_data": lambda: setattr(out.hdf5_data_param, "source", v0.source),
        "images": lambda: setattr(out.image_data_param, "source", v0.source),
        "window_data": lambda: setattr(out.window_data_param, "source", v0.source),
        "infogain_loss": lambda: setattr(out.infogain_loss_param, "source", v0.source),
    })
    # The transformation fields go to transform_param whatever the layer type is.
    if has("scale"):
        out.transform_param.scale = v0.scale
    if has("meanfile"):
        out.transform_param.mean_file = v0.meanfile
    route("batchsize", {
        "data": lambda: setattr(out.data_param, "batch_size", v0.batchsize),
        "hdf5_data": lambda: setattr(out.hdf5_data_param, "batch_size", v0.batchsize),
        "images": lambda: setattr(out.image_data_param, "batch_size", v0.batchsize),
        "window_data": lambda: setattr(out.window_data_param, "batch_size", v0.batchsize),
    })
    if has("cropsize"):
        out.transform_param.crop_size = v0.cropsize
    if has("mirror"):
        out.transform_param.mirror = v0.mirror
    route("rand_skip", {
        "data": lambda: setattr(out.data_param, "rand_skip", v0.rand_skip),
        "images": lambda: setattr(out.image_data_param, "rand_skip", v0.rand_skip),
    })
    if has("shuffle_images"):
        if t == "images":
            out.image_data_param.shuffle = v0.shuffle_images
        else:
            # Caffe names the field "shuffle" in this one message.
            warnings.append(f"Unknown parameter shuffle for layer type {t}")
            ok = False
    route("new_height", {"images": lambda: setattr(out.image_data_param, "new_height",
                                                   v0.new_height)})
    route("new_width", {"images": lambda: setattr(out.image_data_param, "new_width",
                                                  v0.new_width)})
    route("concat_dim", {"concat": lambda: setattr(out.concat_param, "concat_dim", v0.concat_dim)})
    for v0_field, v1_field in (("det_fg_threshold", "fg_threshold"),
                               ("det_bg_threshold", "bg_threshold"),
                               ("det_fg_fraction", "fg_fraction"),
                               ("det_context_pad", "context_pad"),
                               ("det_crop_mode", "crop_mode")):
        route(v0_field, {"window_data": lambda a=v0_field, b=v1_field: setattr(
            out.window_data_param, b, getattr(v0, a))})
    route("hdf5_output_param", {
        "hdf5_output": lambda: out.hdf5_output_param.CopyFrom(v0.hdf5_output_param)})
    return ok


def upgrade_v0_net(net: caffe_pb2.NetParameter, source: str,
                   warnings: list[str]) -> tuple[bool, int]:
    """Rewrite ``net`` in place from V0 to V1, like Caffe's ``UpgradeV0Net``.

    Returns (fully compatible, number of padding layers removed). Caffe rebuilds the net from
    scratch and copies back only ``name``, the layers, ``input``, ``input_dim`` and
    ``force_backward``; anything else at the top level (``state``, ``input_shape``, V2 ``layer``
    blocks, ``debug_info``) is lost, and so it is here.
    """
    folded, removed = fold_padding_layers(net, source)
    ok = True
    net.Clear()
    if folded.HasField("name"):
        net.name = folded.name
    for entry in folded.layers:
        ok &= upgrade_v0_layer(entry, net.layers.add(), source, warnings)
    net.input.extend(folded.input)
    net.input_dim.extend(folded.input_dim)
    if folded.HasField("force_backward"):
        net.force_backward = folded.force_backward
    return ok, removed
