"""Deployment: a forward-only net with its .caffemodel, as `caffe test` or pycaffe would hold it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from caffemem.cli import main
from caffemem.proto import caffe_pb2

DEPLOY = """
name: "deploy"
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu1" type: "ReLU" bottom: "c" top: "c" }
layer { name: "fc" type: "InnerProduct" bottom: "c" top: "fc" inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
"""


def caffemodel(path: Path, conv_in: int = 3, extra: bool = True) -> None:
    net = caffe_pb2.NetParameter()
    shapes = {"conv1": [[4, conv_in, 3, 3], [4]], "fc": [[5, 4 * 6 * 6], [5]]}
    if extra:
        shapes["aux_classifier"] = [[7, 3], [7]]
    for name, blobs in shapes.items():
        layer = net.layer.add()
        layer.name, layer.type = name, "InnerProduct"
        for dims in blobs:
            blob = layer.blobs.add()
            blob.shape.dim.extend(dims)
            n = 1
            for d in dims:
                n *= d
            blob.data.extend([0.5] * n)
    path.write_bytes(net.SerializeToString())


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_forward_only_footprint_with_weights(tmp_path: Path) -> None:
    net = tmp_path / "deploy.prototxt"
    net.write_text(DEPLOY)
    weights = tmp_path / "w.caffemodel"
    caffemodel(weights)
    code, out, _ = run("check", str(net), "--phase", "TEST", "--weights", str(weights), "--mem", "1GiB",
                       "--format", "json")
    assert code == 0
    data = json.loads(out)
    cats = data["footprint"]["by_category"]
    assert "weight_gradients" not in cats and "solver_history" not in cats and "activation_gradients" not in cats
    params = 4 * 3 * 9 + 4 + 5 * 144 + 5
    assert cats["weights"] == params * 4
    assert data["nets"][0]["footprint"]["role"] == "inference"
    assert data["weights"]["ignored_source_layers"] == ["aux_classifier"]
    assert data["weights"]["unfilled_layers"] == []
    assert data["max_batch"] > 2


def test_mismatched_blob_shape_is_one_line_naming_the_layer(tmp_path: Path) -> None:
    net = tmp_path / "deploy.prototxt"
    net.write_text(DEPLOY)
    weights = tmp_path / "bad.caffemodel"
    caffemodel(weights, conv_in=1)
    code, out, err = run("check", str(net), "--phase", "TEST", "--weights", str(weights))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "layer 'conv1'" in err and "shape mismatch" in err


def test_table_lists_unused_file_layers(tmp_path: Path) -> None:
    net = tmp_path / "deploy.prototxt"
    net.write_text(DEPLOY)
    weights = tmp_path / "w.caffemodel"
    caffemodel(weights)
    code, out, _ = run("check", str(net), "--phase", "TEST", "--weights", str(weights))
    assert code == 0 and "not used by the net (1): aux_classifier" in out
