"""The bulk path: shapes, stretches, and refusing what the line path would read differently."""

from __future__ import annotations

from caffemem.logs.bulk import MIN_BLOCKS, shape_kind, split_piece

LOSS = "I0101 00:00:{s:02d}.000001  100 solver.cpp:228] Iteration {it}, loss = {loss}"
OUT = "I0101 00:00:{s:02d}.000002  100 solver.cpp:244]     Train net output #0: loss = {loss} (* 1 = {loss} loss)"
LR = "I0101 00:00:{s:02d}.000003  100 sgd_solver.cpp:106] Iteration {it}, lr = {lr}"


def _block(it: int, loss: str = "0.5", lr: str = "0.01") -> list[str]:
    return [t.format(s=it % 60, it=it, loss=loss, lr=lr) for t in (LOSS, OUT, LR)]


def _shape(line: str) -> str:
    return line.translate(str.maketrans("123456789", "000000000"))


def test_shape_kinds_and_fields() -> None:
    loss, out, lr = _block(1234, "6.9e-05", "0.001")
    kind, getter = shape_kind(_shape(loss))
    assert kind == "L" and getter is not None
    assert getter(loss) == ("0101", "00:00:34.000001", "100", "1234", "6.9e-05")
    kind, getter = shape_kind(_shape(out))
    assert kind == "O" and getter is not None and getter(out) == ("100", "loss", "6.9e-05")
    kind, getter = shape_kind(_shape(lr))
    assert kind == "R" and getter is not None and getter(lr) == ("100", "1234", "0.001")


def test_fatal_and_foreign_lines_are_not_hot() -> None:
    assert shape_kind(_shape("F" + _block(1)[0][1:]))[0] == "x"
    assert shape_kind(_shape("I0101 00:00:01.000000  100 solver.cpp:337] Iteration 1, Testing net (#0)"))[0] == "x"
    assert shape_kind("Killed")[0] == "x"


def test_split_piece_keeps_order_and_refuses_irregular_stretches() -> None:
    lines = ["I0101 00:00:00.000000  100 solver.cpp:279] Solving X"]
    for it in range(MIN_BLOCKS + 2):
        lines += _block(it)
    lines.append("I0101 00:00:59.000000  100 solver.cpp:337] Iteration 9, Testing net (#0)")
    short = [line for it in range(MIN_BLOCKS - 1) for line in _block(100 + it)]
    lines += short
    items = list(split_piece("\n".join(lines) + "\n"))
    batches = [batch for _, batch, _ in items if batch is not None]
    assert len(batches) == 1 and list(batches[0].iterations) == list(range(MIN_BLOCKS + 2))
    rebuilt = [line for before, _, batch_lines in items for line in before + batch_lines]
    assert rebuilt == lines  # nothing lost, nothing reordered; the short stretch stays plain lines


def test_mismatched_iterations_and_payload_nans_fall_back() -> None:
    blocks = [line for it in range(MIN_BLOCKS + 1) for line in _block(it)]
    blocks[-1] = blocks[-1].replace(f"Iteration {MIN_BLOCKS}", "Iteration 99")
    items = list(split_piece("\n".join(blocks) + "\n"))
    assert all(batch is None or len(batch.iterations) == MIN_BLOCKS for _, batch, _ in items)
    nan_blocks = [line for it in range(MIN_BLOCKS) for line in _block(it, loss="nan(0x8000)")]
    assert all(batch is None for _, batch, _ in split_piece("\n".join(nan_blocks) + "\n"))
