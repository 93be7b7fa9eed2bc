"""The compiled writer of kept rows (``rewrite`` in fast/_scan.c, through ``Table.csv_chunks`` and
``Table.test_json_chunks``): the same text as decoding every row and formatting its floats in
Python, on numbers of every form a kept row can hold."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Iterator

import pytest

from caffemem.logs import curve
from caffemem.logs.curve import Table
from caffemem.logs.fast import compiled
from caffemem.logs.grammar import to_float
from caffemem.report import log_csv, log_json

C = compiled.SCAN
needs_c = pytest.mark.skipif(C is None, reason="the C scanner is not built here (CAFFEMEM_NO_C or no compiler)")

# Number text as Caffe prints it (6 significant digits, C++ streams), repr's forms, and the edges
# of the shortcut (15 significant digits, 1e-4, integers, negative zero, exponents, long text).
FIXED = ["0", "-0", "1", "-1", "10", "123456789012345", "1234567890123456", "12345678901234567890",
         "0.1", "0.0001", "0.00012", "0.00001", "1e-05", "1.5e-05", "1e+06", "1.5e+06", "2.3E+10", "-0.0",
         "0.10", "1.0", "100.5", "0.123456789012345", "0.1234567890123456", "1.23456789012345",
         "9.99999e+15", "1e+16", "1e16", "4.94066e-324", "1.79769e+308", "1e+99", "1e-99",
         "3.14159265358979323846264338327950288419716939937510", "nan", "-nan", "inf", "-inf"]


def _texts(rng: random.Random) -> Iterator[str]:
    yield from FIXED
    for _ in range(3000):
        x = rng.choice([rng.random(), rng.uniform(-1e3, 1e3), 10 ** rng.uniform(-8, 18), rng.randint(-10**6, 10**6)])
        yield rng.choice([f"{x:.6g}", repr(float(x)), f"{x:g}", f"{x:.15g}", f"{x:.17g}", str(x)])


def _value(text: str) -> float:
    return to_float(text)


def _table(rng: random.Random, names: list[str], net: int) -> Table:
    table = Table()
    texts = list(_texts(rng))
    for iteration in range(len(texts)):
        micros = rng.choice([0, 1, 99, 100, 12345, 10**6, rng.randint(0, 10**12), 10**15 + 7, -5, -1234567])
        table.add_row(iteration * 10, micros, _value(rng.choice(texts)), _value(rng.choice(texts)), net)
        for name in names:
            table.set_output(name, _value(texts[iteration] if rng.random() < 0.7 else rng.choice(texts)))
    return table


def _python_csv(table: Table) -> str:
    out = io.StringIO()
    log_csv.csv.writer(out, lineterminator="\n").writerows(log_csv.table_rows(table))
    return out.getvalue()


@needs_c
@pytest.mark.parametrize("names", [[], ["loss"], ["accuracy", "top-5: acc, x", 'q"uote\\', "détection"]])
def test_rewrite_matches_python(names: list[str]) -> None:
    rng = random.Random(len(names))
    table = _table(rng, names, 0)
    with_c = io.StringIO()
    log_csv.write_table(table, with_c)
    assert table.csv_chunks() is not None
    assert with_c.getvalue() == _python_csv(table)

    test = _table(rng, names, 1)
    with_c = io.StringIO()
    log_json._write_test_passes(test, with_c)
    compiled.SCAN = None
    try:
        python = io.StringIO()
        log_json._write_test_passes(test, python)
        assert test.test_json_chunks() is None
    finally:
        compiled.SCAN = C
    assert with_c.getvalue() == python.getvalue()


@needs_c
def test_rewrite_refuses_a_table_that_is_not_uniform() -> None:
    table = Table()
    table.add_row(0, 0, 0.1, 2.0)
    table.add_row(1, 5, 0.1, math.nan)
    table.set_output("late", 1.0)
    table.add_row(2, 7, 0.1, 1.0)
    assert not table.uniform and table.csv_chunks() is None and table.test_json_chunks() is None


@needs_c
def test_nulls_in_one_pass_match_the_replacements() -> None:
    """``_scan.nulls`` against curve.py's four replacements, on random bytes made of their pieces."""
    assert C is not None
    rng = random.Random(0)
    pieces = [b": nan", b": -nan", b": inf", b": -inf", b": 1.5", b"nan", b": ", b":", b" ", b"x", b"-", b": -",
              b": na", b"inf", b"\n", b": nanx", "é".encode()]
    for _ in range(5000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        want = data
        for old, new in curve._NONFINITE_TO_NULL_BYTES:
            want = want.replace(old, new)
        assert C.nulls(data) == want, data
