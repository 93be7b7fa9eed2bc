"""Caffe's ``InsertSplits``: fan out every blob that more than one layer consumes.

Split layers appear in Caffe's log with their own ``Top shape`` lines and count towards
"Memory required for data", and their tops get separate gradients in training, so their names and
positions must be exactly Caffe's: ``<blob>_<producer>_<top index>_split`` right after the producer.
"""

from __future__ import annotations

from collections import defaultdict

from caffemem.errors import NetError
from caffemem.proto import caffe_pb2


def split_layer_name(layer: str, blob: str, index: int) -> str:
    return f"{blob}_{layer}_{index}_split"


def split_blob_name(layer: str, blob: str, index: int, k: int) -> str:
    return f"{blob}_{layer}_{index}_split_{k}"


def insert_splits(param: caffe_pb2.NetParameter, source: str | None = None) -> caffe_pb2.NetParameter:
    """Return a copy of ``param`` with Split layers inserted as Caffe's ``InsertSplits`` does."""
    layers = param.layer
    last_top: dict[str, tuple[int, int]] = {}
    source_of_bottom: dict[tuple[int, int], tuple[int, int]] = {}
    consumers: dict[tuple[int, int], int] = defaultdict(int)
    loss_weight_of: dict[tuple[int, int], float] = {}
    for i, layer in enumerate(layers):
        for j, blob in enumerate(layer.bottom):
            producer = last_top.get(blob)
            if producer is None:
                raise NetError(f"Unknown bottom blob '{blob}' (layer '{layer.name}', bottom index {j})",
                               source)
            source_of_bottom[(i, j)] = producer
            consumers[producer] += 1
        for j, blob in enumerate(layer.top):
            last_top[blob] = (i, j)
        for j in range(min(len(layer.loss_weight), len(layer.top))):
            top_idx = last_top[layer.top[j]]
            loss_weight_of[top_idx] = layer.loss_weight[j]
            if layer.loss_weight[j]:
                consumers[top_idx] += 1
    if all(n <= 1 for n in consumers.values()):
        return param

    out = caffe_pb2.NetParameter()
    out.CopyFrom(param)
    del out.layer[:]
    next_split: dict[tuple[int, int], int] = defaultdict(int)
    for i, layer in enumerate(layers):
        new = out.layer.add()
        new.CopyFrom(layer)
        for j, blob in enumerate(layer.bottom):
            top_idx = source_of_bottom[(i, j)]
            if consumers[top_idx] > 1:
                producer_name = layers[top_idx[0]].name
                new.bottom[j] = split_blob_name(producer_name, blob, top_idx[1], next_split[top_idx])
                next_split[top_idx] += 1
        for j, blob in enumerate(layer.top):
            count = consumers[(i, j)]
            if count <= 1:
                continue
            weight = loss_weight_of.get((i, j), 0.0)
            split = out.layer.add()
            split.name = split_layer_name(layer.name, blob, j)
            split.type = "Split"
            split.bottom.append(blob)
            for k in range(count):
                split.top.append(split_blob_name(layer.name, blob, j, k))
                if weight:
                    split.loss_weight.append(weight if k == 0 else 0.0)
            if weight:
                new.ClearField("loss_weight")
                next_split[(i, j)] += 1
    return out
