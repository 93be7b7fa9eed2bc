"""Multiply-adds per layer type, as Netscope and torchstat count them."""

from __future__ import annotations

import caffemem
from caffemem.memory.macs import layer_macs, net_macs

NET = """
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 4 dim: 10 dim: 10 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 6 kernel_size: 3 group: 2 } }
layer { name: "deconv" type: "Deconvolution" bottom: "conv" top: "deconv"
        convolution_param { num_output: 4 kernel_size: 2 stride: 2 } }
layer { name: "relu" type: "ReLU" bottom: "deconv" top: "deconv" }
layer { name: "ave" type: "Pooling" bottom: "deconv" top: "ave" pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "max" type: "Pooling" bottom: "ave" top: "max" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "max" top: "ip" inner_product_param { num_output: 5 } }
"""


def test_rules_per_type() -> None:
    net = caffemem.check(NET).analysis.nets[0]
    macs = {layer.name: layer_macs(layer) for layer in net.layers}
    # conv: top 2x6x8x8 = 768 outputs x (Cin/group 2 x 3 x 3)
    assert macs["conv"] == 768 * 2 * 3 * 3
    # deconv: bottom 768 elements x (Cout/group 4 x 2 x 2)
    assert macs["deconv"] == 768 * 4 * 2 * 2
    # average pooling: top 2x4x8x8 x the 2x2 window; max pooling and ReLU: none
    assert macs["ave"] == 2 * 4 * 8 * 8 * 4 and macs["max"] == 0 and macs["relu"] == 0
    # inner product: N x in x out = 2 x (4*4*4) x 5
    assert macs["ip"] == 2 * 64 * 5
    assert macs["data"] == 0
    assert net_macs(net) == sum(macs.values())


def test_unknown_shapes_have_no_count() -> None:
    net = caffemem.check('layer { name: "py" type: "Python" top: "x" python_param { module: "m" layer: "L" } }\n'
                         'layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" '
                         'inner_product_param { num_output: 2 } }\n').analysis.nets[0]
    assert [layer_macs(layer) for layer in net.layers] == [None, None] and net_macs(net) is None
