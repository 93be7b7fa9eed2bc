"""The indented JSON writer streams in pieces: the bytes are json.dumps's wherever the pieces fall."""

from __future__ import annotations

import io
import json

import pytest

from caffemem.report import _json


@pytest.mark.parametrize("every", [1, 2, 3, 7, 8192])
def test_pieces_anywhere_give_json_dumps_bytes(every: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_json, "_CHUNK_PARTS", every)
    data = {"nets": [{"name": f"n{i}", "layers": [{"shape": [i, 3, 224, 224], "bytes": {"w": i * 1.5}},
                                                    {"tops": [], "x": {}}], "ok": i % 2 == 0, "none": None}
                     for i in range(20)], "nan": float("nan"), "ünï": "ç"}
    want = json.dumps(_json.finite(data), indent=1, allow_nan=False)
    out = io.StringIO()
    _json.dump(data, out, indent=1)
    assert out.getvalue() == want == _json.dumps(data, indent=1)
    if every < 10:
        assert len(_json._indented_chunks(data, 1)) > 1  # it really was written in pieces
