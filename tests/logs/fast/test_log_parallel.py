"""The parallel path (a forked worker renders part of the bulk stretches) writes the serial path's JSON, byte for byte.

The parallel path is forced with ``parallel_min_bytes=0`` and small pieces (``piece_bytes``),
so that even small logs are cut into many pieces, half of them done by the worker. Both paths
read the same pieces, since where a piece ends decides what is read in bulk.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from conftest import SHARED
from log_helpers import SEED, big_log

import caffemem.logs.fast.parallel as parallel
from caffemem.logs import read_log
from caffemem.logs.fast.render import RenderedBatch
from caffemem.logs.runs import RunBuilder
from caffemem.report.log_json import write_log_json

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent.parent / "fixtures"
NEVER = 1 << 62

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parallel path needs fork")


def _shared_logs() -> list[Path]:
    if not SHARED.is_dir():
        return []
    found = {p.resolve() for p in (SHARED / "corpus" / "logs").rglob("*") if p.is_file()}
    found |= {p.resolve() for p in SHARED.rglob("*.log") if p.is_file()}
    return sorted(found)


def _json(path: Path, parallel_min_bytes: int, piece_bytes: int) -> str:
    report = read_log(path, parallel_min_bytes=parallel_min_bytes, piece_bytes=piece_bytes)
    out = io.StringIO()
    write_log_json(report, out)
    return out.getvalue()


def _same(path: Path, piece_bytes: int) -> None:
    serial = _json(path, NEVER, piece_bytes)
    assert _json(path, 0, piece_bytes) == serial


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.log")) + [SEED], ids=lambda p: p.name)
@pytest.mark.parametrize("piece_bytes", [1 << 10, 1 << 13])
def test_fixtures_parallel_equals_serial(path: Path, piece_bytes: int) -> None:
    _same(path, piece_bytes)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared not present")
@pytest.mark.parametrize("path", _shared_logs(), ids=lambda p: str(p.relative_to(SHARED.resolve())))
def test_shared_logs_parallel_equals_serial(path: Path) -> None:
    _same(path, 1 << 12)


def _count_worker_rows(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """A list that gets, per batch the builder is offered, whether it took rows the worker wrote."""
    taken: list[bool] = []
    original = RunBuilder.take_rendered

    def counting(self: RunBuilder, number: int, rendered: RenderedBatch, source: object = None) -> bool:
        done = original(self, number, rendered, source)  # type: ignore[arg-type]
        taken.append(done and rendered.spilled is not None)
        return done

    monkeypatch.setattr(RunBuilder, "take_rendered", counting)
    return taken


def test_worker_renders_and_results_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = big_log(tmp_path / "big.log", 6000, test_every=97, killed=True)
    taken = _count_worker_rows(monkeypatch)
    for piece_bytes in (1 << 14, 1 << 16):
        _same(log, piece_bytes)
    # The worker's rows were used (read from the file it wrote them to), not only the fallback.
    assert sum(taken) > 10


def test_default_threshold_keeps_small_logs_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork(*args: object, **kwargs: object) -> int:
        raise AssertionError("a small log must not fork")

    monkeypatch.setattr("caffemem.logs.read_parallel", no_fork)
    assert parallel.PARALLEL_MIN_BYTES == 64 << 20
    read_log(SEED)


@pytest.mark.parametrize("failure", ["dies", "dies_midway", "stale_state", "wrong_piece"])
def test_failing_worker_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    log = big_log(tmp_path / "big.log", 3000, test_every=97, killed=True)
    serial = _json(log, NEVER, 1 << 14)
    original_answer = parallel._answer
    if failure == "dies":
        def work(*args: object) -> None:
            raise RuntimeError("worker failed")

        monkeypatch.setattr(parallel, "_work", work)
    elif failure == "dies_midway":
        calls = []

        def answer_then_die(*args: object) -> object:
            calls.append(1)
            if len(calls) > 5:
                os._exit(0)
            return original_answer(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(parallel, "_answer", answer_then_die)
    elif failure == "stale_state":  # every batch rendered for a state the builder is not in
        def stale(piece: str, state: object, *args: object) -> object:
            if state is not None:
                state = (state[0] + 1, *state[1:])  # type: ignore[index]
            return original_answer(piece, state, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(parallel, "_answer", stale)
    else:  # answers under the wrong piece number
        original_send = parallel._send

        def send(results: object, answers: object) -> None:
            class Shift:
                def get(self) -> object:
                    got = answers.get()  # type: ignore[attr-defined]
                    return None if got is None else (got[0] + 1, got[1])

            original_send(results, Shift())  # type: ignore[arg-type]

        monkeypatch.setattr(parallel, "_send", send)
    assert _json(log, 0, 1 << 14) == serial


@pytest.mark.parametrize("share", [(1, 2), (6, 11), (3, 5), (0, 1)])
def test_worker_share_is_spread_evenly(share: tuple[int, int]) -> None:
    taken = [parallel._takes(index, share) for index in range(share[1] * 10)]
    for start in range(0, len(taken), share[1]):
        assert sum(taken[start:start + share[1]]) == share[0]
    runs = "".join("w" if t else "m" for t in taken)
    assert "www" not in runs and ("mmm" not in runs or share[0] == 0)  # no long runs for one side


def test_parallel_with_another_share_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = big_log(tmp_path / "big.log", 2000, test_every=97, killed=True)
    serial = _json(log, NEVER, 1 << 13)
    for share in ((1, 2), (2, 3), (0, 1)):
        monkeypatch.setattr(parallel, "SHARE", share)
        assert _json(log, 0, 1 << 13) == serial, share


@pytest.mark.parametrize("pattern", ["every_piece", "up", "down"])
def test_share_changes_keep_both_processes_agreed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 pattern: str) -> None:
    """The share moves while the file is read (as _Balance moves it); both processes must still
    take the same pieces, so the result is the serial one and the worker's rows are used."""
    log = big_log(tmp_path / "big.log", 3000, test_every=97, killed=True)
    serial = _json(log, NEVER, 1 << 12)
    if pattern == "every_piece":
        def after_piece(self: object, index: int) -> tuple[int, tuple[int, int]]:
            return index + parallel.LEAD + 1, parallel.SHARES[index % len(parallel.SHARES)]

        monkeypatch.setattr(parallel._Balance, "after_piece", after_piece)
    else:
        monkeypatch.setattr(parallel, "BALANCE_EVERY", 1)
        monkeypatch.setattr(parallel, "WAIT_LOW", 2.0 if pattern == "up" else -1.0)
        monkeypatch.setattr(parallel, "WAIT_HIGH", 3.0 if pattern == "up" else -0.5)
    taken = _count_worker_rows(monkeypatch)
    assert _json(log, 0, 1 << 12) == serial
    assert sum(taken) > 10


def test_balance_moves_the_share_by_waiting() -> None:
    balance = parallel._Balance(parallel.SHARE)
    level = balance.level
    assert level is not None
    changes = [balance.after_piece(k) for k in range(parallel.BALANCE_EVERY)]  # no waiting: worker takes more
    assert changes[:-1] == [None] * (parallel.BALANCE_EVERY - 1)
    assert changes[-1] == (parallel.BALANCE_EVERY - 1 + parallel.LEAD + 1, parallel.SHARES[level + 1])
    balance.since -= 1.0
    balance.waited = 0.5  # waited half the time: the worker is the slower one
    changes = [balance.after_piece(k) for k in range(parallel.BALANCE_EVERY)]
    assert changes[-1] is not None and changes[-1][1] == parallel.SHARES[level]
