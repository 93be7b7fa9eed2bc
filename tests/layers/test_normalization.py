"""Fork normalisation (layers/normalization.py): SegNet's and PSPNet's BN, SSD's Normalize.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

from layer_helpers import buffers, footprint, grads, make


def test_bn_segnet_and_pspnet() -> None:
    seg = make('type: "BN" top: "y" bn_param { bn_mode: INFERENCE }')
    assert seg.reshape([(2, 64, 10, 12)]) == [(2, 64, 10, 12)]
    assert seg.blobs == [(1, 64, 1, 1)] * 2
    psp = make('type: "BN" top: "y" bn_param { slope_filler { value: 1 } frozen: true }')
    assert psp.reshape([(1, 512, 60, 60)]) == [(1, 512, 60, 60)]
    assert psp.blobs == [(1, 512, 1, 1)] * 4
    assert [s.lr_mult for s in psp.param_specs] == [0, 0, 0, 0]  # type: ignore[attr-defined]
    unfrozen = make('type: "BN" top: "y" param { lr_mult: 1 } param { lr_mult: 1 } param { lr_mult: 0 } '
                    'param { lr_mult: 0 }')
    unfrozen.reshape([(1, 8, 4, 4)])
    assert [s.lr_mult for s in unfrozen.param_specs] == [1, 1, 0, 0]  # type: ignore[attr-defined]



def test_normalize() -> None:
    norm = make('type: "Normalize" top: "n" norm_param { channel_shared: false }')
    assert norm.reshape([(8, 512, 38, 38)]) == [(8, 512, 38, 38)] and norm.blobs == [(512,)]
    shared = make('type: "Normalize" top: "n"')
    shared.reshape([(8, 512, 38, 38)])
    assert shared.blobs == [()]



BN_NET = """
layer { name: "d" type: "DummyData" top: "data" top: "t"
        dummy_data_param { shape { dim: 2 dim: 3 dim: 4 dim: 4 } shape { dim: 2 dim: 3 dim: 4 dim: 4 } } }
layer { name: "bn" type: "BN" bottom: "data" top: "bn" BN_PARAM }
layer { name: "loss" type: "EuclideanLoss" bottom: "bn" bottom: "t" }
"""



def test_segnet_bn_buffers_and_unconditional_bottom_diff() -> None:
    fp = footprint(BN_NET.replace("BN_PARAM", "bn_param { bn_mode: LEARN }"))
    # SegNet BN over 2x3x4x4 (96): ones-vectors data+diff 2*16 + 2*2 = 36 at set-up; buffer_blob_ 96;
    # spatial mean/variance [N,C] 2*6 = 12; LEARN: batch mean/variance 2*3 = 6 and x_norm_ 96;
    # CPU backward: diffs of the two [N,C] blobs 12.
    assert buffers(fp, "bn") == 36 + 96 + 12 + 6 + 96 + 12
    # Backward takes the bottom diff unconditionally: the data blob gets a gradient (96).
    assert grads(fp, "d") == 96
    gpu = footprint(BN_NET.replace("BN_PARAM", "bn_param { bn_mode: INFERENCE }"), "gpu")
    # INFERENCE on the GPU: 36 + buffer_blob_ 96 + spatial mean/variance 12; no x_norm_, no diffs.
    assert buffers(gpu, "bn") == 36 + 96 + 12



def test_pspnet_bn_buffers() -> None:
    fp = footprint(BN_NET.replace("BN_PARAM", "bn_param { momentum: 0.95 }"))
    # PSPNet BN: ones-vectors 16 + 2; broadcast_buffer_ 96; spatial_statistic_ 6; batch_statistic_ 3;
    # not frozen: x_norm_ 96 and x_inv_std_ 3.
    assert buffers(fp, "bn") == 16 + 2 + 96 + 6 + 3 + 96 + 3
    # It honours propagate_down: no gradient for the data blob.
    assert grads(fp, "d") == 0
    frozen = footprint(BN_NET.replace("BN_PARAM", "bn_param { frozen: true }"))
    assert buffers(frozen, "bn") == 16 + 2 + 96 + 6 + 3



def test_normalize_writes_the_data_gradient() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "data" top: "t"
            dummy_data_param { shape { dim: 2 dim: 3 dim: 4 dim: 4 } shape { dim: 2 dim: 3 dim: 4 dim: 4 } } }
    layer { name: "norm" type: "Normalize" bottom: "data" top: "norm" }
    layer { name: "loss" type: "EuclideanLoss" bottom: "norm" bottom: "t" }
    """
    fp = footprint(net)
    # The data needs no gradient, but both Backward paths take its diff first: 2*3*4*4 = 96.
    assert grads(fp, "d") == 96
    # across_spatial (default): norm_ is one value per image (2); buffer_ 48; ones 3 + 16;
    # backward buffer_channel_ 3 and buffer_spatial_ 16.
    assert buffers(fp, "norm") == 2 + 48 + 3 + 16 + 3 + 16
