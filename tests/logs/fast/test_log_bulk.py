"""The bulk path: token shapes, stretches, and refusing what the line path would read differently."""

from __future__ import annotations

from pathlib import Path

from caffemem.logs.fast.bulk import MIN_BLOCKS, SEP, shape_kind, split_piece

LOSS = "I0101 00:00:{s:02d}.000001  100 solver.cpp:228] Iteration {it}, loss = {loss}"
OUT = "I0101 00:00:{s:02d}.000002  100 solver.cpp:244]     Train net output #0: loss = {loss} (* 1 = {loss} loss)"
LR = "I0101 00:00:{s:02d}.000003  100 sgd_solver.cpp:106] Iteration {it}, lr = {lr}"


def _block(it: int, loss: str = "0.5", lr: str = "0.01") -> list[str]:
    return [t.format(s=it % 60, it=it, loss=loss, lr=lr) for t in (LOSS, OUT, LR)]


def _shape(text: str) -> str:
    return text.translate(str.maketrans("123456789", "000000000"))


def _piece(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def test_token_shape_and_fields() -> None:
    text = _piece(_block(1233, lr="0.002") + _block(1234, "6.9e-05", "0.001"))
    token = text.split(SEP)[1]  # lr of block 1233, then block 1234 up to its lr
    shape = shape_kind(_shape(token))
    assert shape is not None and shape.output_names == ("loss",) and not shape.nonfinite
    assert token[shape.lr] == "0.002"
    assert [getter(token) for getter in shape.fields] == ["0101 00:00:34", "000001", "1234", "6.9e-05", "6.9e-05"]


def test_fatal_odd_numbers_and_foreign_tokens_are_not_blocks() -> None:
    text = _piece(_block(1) + _block(2))
    token = text.split(SEP)[1]
    assert shape_kind(_shape(token.replace("\nI0101", "\nF0101", 1))) is None
    assert shape_kind(_shape(token.replace("loss = 0.5\n", "loss = nan(0x8000)\n", 1))) is None
    assert shape_kind(_shape(token.replace("loss = 0.5\n", "loss = +0.5\n", 1))) is None
    assert shape_kind(_shape("0.01\nKilled\nI0101 00:00:01.000000  100 solver.cpp:337] Iteration 1")) is None
    nan = shape_kind(_shape(token.replace("loss = 0.5\n", "loss = -nan\n", 1)))
    assert nan is not None and nan.nonfinite


def test_split_piece_keeps_order_and_refuses_irregular_stretches() -> None:
    lines = ["I0101 00:00:00.000000  100 solver.cpp:279] Solving X"]
    for it in range(MIN_BLOCKS + 2):
        lines += _block(it)
    lines.append("I0101 00:00:59.000000  100 solver.cpp:337] Iteration 9, Testing net (#0)")
    short = [line for it in range(MIN_BLOCKS - 1) for line in _block(100 + it)]
    lines += short
    items = list(split_piece(_piece(lines)))
    batches = [batch for _, batch, _ in items if batch is not None]
    # The first block's token holds the Solving line, so it is left to the line path.
    assert len(batches) == 1 and batches[0].iterations == [str(it) for it in range(1, MIN_BLOCKS + 2)]
    assert batches[0].lrs == ["0.01"] * (MIN_BLOCKS + 1) and batches[0].tids == {"100"}
    rebuilt = "".join(before + text for before, _, text in items)
    assert rebuilt == _piece(lines)  # nothing lost, nothing reordered; the short stretch stays plain text


def test_mismatched_iterations_thread_and_names_fall_back() -> None:
    blocks = [line for it in range(MIN_BLOCKS + 2) for line in _block(it)]
    paired = [batch for _, batch, _ in split_piece(_piece(blocks)) if batch is not None]
    assert len(paired) == 1
    odd = list(blocks)
    odd[3 * 3 + 2] = odd[3 * 3 + 2].replace("Iteration 3", "Iteration 9")
    assert all(batch is None or "3" not in batch.iterations for _, batch, _ in split_piece(_piece(odd)))
    other_thread = list(blocks)
    other_thread[3 * 3 + 1] = other_thread[3 * 3 + 1].replace("  100 ", "  101 ")
    assert all(batch is None for _, batch, _ in split_piece(_piece(other_thread)))
    renamed = list(blocks)
    renamed[3 * 3 + 1] = renamed[3 * 3 + 1].replace(": loss =", ": lost =")
    assert all(batch is None or len(batch.iterations) < MIN_BLOCKS + 1
               for _, batch, _ in split_piece(_piece(renamed)))


def test_mixed_widths_cut_each_block_with_its_own_shape() -> None:
    """Loss and lr texts of different widths in one stretch (as in real logs), the stretch ended
    by an lr line with something after the number: that block is left to the line path."""
    losses = ["0.5", "1.25", "6.9e-05", "10.125", "0.75", "2", "0.0625"]
    lrs = ["0.01", "0.001", "0.01", "1e-05", "0.0001", "0.01", "0.1"]
    blocks = [_block(10 + k, losses[k], lrs[k]) for k in range(len(losses))]
    blocks[-1][-1] += " (warm-up)"
    lines = [line for block in blocks for line in block] + ["I0101 00:01:00.000000  100 solver.cpp:337] done"]
    items = list(split_piece(_piece(lines)))
    batches = [batch for _, batch, _ in items if batch is not None]
    assert len(batches) == 1
    batch = batches[0]
    taken = len(batch.iterations)
    assert MIN_BLOCKS <= taken < len(losses) - 1  # the first block shares its token with nothing before
    first = int(batch.iterations[0]) - 10
    assert batch.iterations == [str(10 + k) for k in range(first, first + taken)]
    assert batch.losses == losses[first:first + taken] == batch.outputs["loss"]
    assert batch.lrs == lrs[first:first + taken]
    assert batch.micros == ["000001"] * taken
    assert "".join(before + text for before, _, text in items) == _piece(lines)


GOOGLENET_OUT = ("I0101 00:00:{s:02d}.000002  100 solver.cpp:244]     Train net output #{k}: {name} = {value} "
                 "(* 0.3 = {value} loss)")


def _googlenet_block(it: int, names: tuple[str, str], values: tuple[str, str]) -> list[str]:
    loss, out, lr = _block(it)
    outputs = [GOOGLENET_OUT.format(s=it % 60, k=k, name=name, value=value)
               for k, (name, value) in enumerate(zip(names, values, strict=True))]
    return [loss, *outputs, lr]


def test_output_names_with_digits_are_the_printed_ones() -> None:
    """GoogLeNet's loss1/loss and loss2/loss share a shape ("loss0/loss"): the batch must name
    them as printed, not as the shape shows them (nor refuse them as one name twice)."""
    names = ("loss1/loss", "loss2/loss")
    lines = [line for it in range(MIN_BLOCKS + 3) for line in _googlenet_block(it, names, ("0.5", "0.25"))]
    batches = [batch for _, batch, _ in split_piece(_piece(lines)) if batch is not None]
    assert len(batches) == 1 and list(batches[0].outputs) == list(names)
    assert batches[0].outputs["loss2/loss"] == ["0.25"] * len(batches[0].iterations)


def test_names_that_differ_only_in_digits_are_never_mixed() -> None:
    """Blocks whose output names differ only in a digit have the same shape key; a stretch with
    both (even with different number widths) must not name all its rows after the first."""
    first = [line for it in range(3) for line in _googlenet_block(it, ("loss1/loss", "loss2/loss"), ("0.5", "0.25"))]
    second = [line for it in range(3, 9) for line in _googlenet_block(it, ("loss3/loss", "loss2/loss"),
                                                                       ("0.125", "0.0625"))]
    for batch in (b for _, b, _ in split_piece(_piece(first + second)) if b is not None):
        printed = {name for name in batch.outputs}
        iterations = set(map(int, batch.iterations))
        assert iterations <= set(range(3)) and printed == {"loss1/loss", "loss2/loss"} or \
            iterations <= set(range(3, 9)) and printed == {"loss3/loss", "loss2/loss"}


PREFETCH = "I0101 00:00:{s:02d}.000004  100 blocking_queue.cpp:50] Data layer prefetch queue empty"
TESTING = "I0101 00:00:{s:02d}.000005  100 solver.cpp:337] Iteration {it}, Testing net (#0)"
TEST_OUT = "I0101 00:00:{s:02d}.000006  100 solver.cpp:404]     Test net output #0: accuracy = 0.{it}"


def test_passing_lines_and_lead_ins_are_read_in_bulk(tmp_path: Path) -> None:
    """Prefetch lines inside blocks stay in the stretch (counted as unknown lines); the block after
    a test pass opens the next stretch, only the test pass being read line by line."""
    lines = ["I0101 00:00:00.000000  100 solver.cpp:279] Solving X"]
    for it in range(40):
        block = _block(it)
        if it % 3 == 1:
            block.insert(0, PREFETCH.format(s=it % 60))
        if it == 20:
            block[:0] = [TESTING.format(s=it % 60, it=it), TEST_OUT.format(s=it % 60, it=it)]
        lines += block
    text = _piece(lines)
    items = list(split_piece(text))
    batches = [batch for _, batch, _ in items if batch is not None]
    assert len(batches) == 2
    taken = sorted(int(it) for batch in batches for it in batch.iterations)
    assert 20 in taken and len(taken) >= 36  # the test pass's own block opens the second stretch
    assert sum(batch.passing for batch in batches) >= 12
    plain = "".join(before for before, _, _ in items)
    assert "Testing net" in plain and "Test net output" in plain and "Iteration 20, loss" not in plain

    from caffemem.logs import read_log

    path = tmp_path / "log"
    path.write_text(text, encoding="utf-8")
    bulk, lines_only = read_log(path), read_log(path, bulk=False)
    assert bulk.counts == lines_only.counts and bulk.counts["unknown"] == 13
    assert list(bulk.runs[0].train.rows()) == list(lines_only.runs[0].train.rows())
    assert list(bulk.runs[0].test.rows()) == list(lines_only.runs[0].test.rows())
