"""The parse-peak model of loading a .caffemodel (shared/docs/weights-loading.md)."""

from __future__ import annotations

from caffemem.memory.loading import growth_ladder, parse_peak
from caffemem.net.caffemodel import read_caffemodel, write_standin_caffemodel


def test_ladder_matches_the_documented_example():
    # single IP 25088x4096 stand-in: data at offset 46 -> first step 2036 floats, last 133,562,366
    steps = growth_ladder(46, 25088 * 4096)
    assert steps[0] == (2036, 0, 2036)
    assert steps[-1][0] == 133_562_366
    caps = [c for c, _, _ in steps]
    assert all(b == max(2 * a + 2, b) for a, b in zip(caps, caps[1:], strict=False))


def test_small_array_is_one_allocation():
    assert growth_ladder(100, 1000) == [(1000, 0, 1000)]


def test_peak_between_one_and_two_copies_of_a_big_blob():
    n = 10_000_000
    peak = parse_peak([(60, n, 4)])
    assert 4 * n < peak < 2 * 4 * n + 2**20


def test_reader_gives_each_arrays_payload_offset(tmp_path):
    path = tmp_path / "w.caffemodel"
    write_standin_caffemodel(path, [("fc", "InnerProduct", [(30, 20), (30,)])])
    info = read_caffemodel(path)
    arrays = [a for layer in info.layers for blob in layer.details for a in blob.arrays]
    assert [(n, w) for _, n, w in arrays] == [(600, 4), (30, 4)]
    raw = path.read_bytes()
    for offset, n, _ in arrays:
        assert raw[offset:offset + 4 * n] == bytes(4 * n)  # zero-filled values start right there
