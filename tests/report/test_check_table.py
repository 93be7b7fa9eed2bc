"""The default ``check`` table: fits the terminal, stays aligned, says what a person looks for first."""

from __future__ import annotations

import glob

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, SHARED

from caffemem.cli import main
from caffemem.report.check_table import Column, fit_table, shorten
from caffemem.report.footprint_rows import tops_text
from caffemem.report.units import human_bytes, human_count, same_unit_bytes

NET = str(EXAMPLES / "small_train_val.prototxt")
CORPUS = sorted(glob.glob(str(SHARED / "corpus" / "nets" / "**" / "*.prototxt"), recursive=True))


def run(*args: str, columns: int | None = None) -> tuple[int, str, str]:
    env = {"COLUMNS": str(columns)} if columns else {}
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("columns", [100, 80])
def test_every_corpus_net_fits_the_terminal(columns: int) -> None:
    if not CORPUS:
        pytest.skip("the shared corpus is not beside the checkout (set CAFFEMEM_SHARED)")
    checked = 0
    for path in CORPUS:
        code, out, _ = run("check", path, columns=columns)
        if code == 2:  # a solver naming nets that are not in the corpus, a net Caffe would refuse
            continue
        checked += 1
        too_wide = [line for line in out.splitlines() if len(line) > columns]
        assert not too_wide, (path, too_wide[:3])
    assert checked >= 60


def test_width_defaults_to_100_and_wide_ignores_it() -> None:
    googlenet = SHARED / "corpus" / "nets" / "bvlc_caffe" / "bvlc_googlenet_deploy.prototxt"
    if not googlenet.is_file():
        pytest.skip("the shared corpus is not beside the checkout")
    _, out, _ = run("check", str(googlenet))  # CliRunner's stdout is no terminal: 100 columns
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "…" in out and "4x 10x192x28x28" in out  # shortened names; a Split's tops told once
    _, wide, _ = run("check", str(googlenet), "--wide")
    assert max(len(line) for line in wide.splitlines()) > 100
    header = next(line for line in wide.splitlines() if line.startswith("layer"))
    for column in ("act", "weights", "buffers", "total", "Caffe total B"):
        assert column in header
    assert "inception_3a/relu_3x3_reduce" in wide  # --wide shortens nothing


def test_columns_stay_aligned_and_small_values_mean_something() -> None:
    _, out, _ = run("check", NET, "--batch", "64", columns=80)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("layer"))
    header, rule = lines[start], lines[start + 1]
    rows = []
    for row in lines[start + 2:]:
        if not row or row.startswith("("):  # the table ends at the legend
            break
        rows.append(row)
    end = header.index("memory") + len("memory")
    assert rule[end - 1] == "-"
    with_memory = [r for r in rows if len(r) >= end and r[end - 1] != " "]
    assert with_memory and all(r[end - 1] == "B" for r in with_memory)  # "MiB", "KiB", " B": right-aligned
    fc4 = next(r for r in rows if r.startswith("fc4 "))
    assert "KiB" in fc4 and " 0.0" not in fc4  # 20 KiB is not "0.0" MiB


def test_table_has_macs_param_totals_and_largest_layers() -> None:
    _, out, _ = run("check", NET, "--batch", "64")
    header = next(line for line in out.splitlines() if line.startswith("layer"))
    for column in ("layer", "type", "top shape(s)", "params", "MACs", "memory", "mostly", "Caffe total"):
        assert column in header
    conv1 = next(line for line in out.splitlines() if line.startswith("conv1 "))
    assert "7.2M" in conv1 and "160" in conv1  # 64x16x28x28 outputs x (1 x 3 x 3)
    assert "Total params: 596,171" in out and "Trainable params: 596,106" in out
    assert "Non-trainable params (frozen, lr_mult 0): 65" in out  # BatchNorm's statistics
    assert "Total mult-adds (forward, per batch): 88.1M" in out
    assert "Largest layers (of " in out and "  1.  TRAIN fc3" in out


def test_narrow_terminals_drop_columns_and_say_so() -> None:
    _, out, _ = run("check", NET, columns=60)
    assert max(len(line) for line in out.splitlines()) <= 60
    assert "too narrow for" in out and "--wide" in out


def test_shorten_keeps_both_ends() -> None:
    assert shorten("inception_3a/3x3", 10) == "incep…/3x3"
    assert shorten("conv1", 10) == "conv1"
    assert shorten("abcdefghij", 5, "~") == "ab~ij"


def test_fit_table_shortens_text_before_dropping_numbers() -> None:
    columns = [Column("name", soft=6, hard=4), Column("n", right=True), Column("extra", drop=1)]
    rows = [["a_very_long_name", "1,234", "x"], ["b", "5", "y"]]
    lines, dropped = fit_table(columns, rows, 20)
    assert dropped == [] and all(len(line) <= 20 for line in lines)
    assert "1,234" in lines[2] and "…" in lines[2]
    lines, dropped = fit_table(columns, rows, 12)
    assert dropped == ["extra"] and all(len(line) <= 12 for line in lines)


def test_tops_text_counts_equal_tops() -> None:
    assert tops_text([(32, 3, 300, 300)] * 7) == "7x 32x3x300x300"
    assert tops_text([(1, 2), (3,), (3,)]) == "1x2, 2x 3"
    assert tops_text([]) == "-" and tops_text([None]) == "?"


def test_one_number_style() -> None:
    assert human_bytes(1536) == "1.5 KiB" and human_bytes(20 * 1024) == "20.0 KiB" and human_bytes(7) == "7 B"
    assert human_count(7_225_344) == "7.2M" and human_count(725) == "725" and human_count(3.5e9) == "3.5G"
    assert same_unit_bytes(int(10.97 * 2**30), 11 * 2**30, 2) == ("10.97 GiB", "11.00 GiB")
    assert same_unit_bytes(int(10.999 * 2**30), 11 * 2**30, 2) == ("10.999 GiB", "11.000 GiB")


def test_other_formats_use_the_same_numbers() -> None:
    _, table, _ = run("check", NET, "--batch", "64")
    _, md, _ = run("check", NET, "--batch", "64", "--format", "md")
    _, html, _ = run("check", NET, "--batch", "64", "--format", "html")
    for text in ("589,952", "37.7M", "6.8 MiB"):  # fc3's params, MACs and bytes
        assert text in table and text in md and text in html


def test_top_shapes_are_shortened_by_whole_shapes() -> None:
    """A shape cut in its middle ('1x3x600x10…') would read as another shape: whole ones go, counted."""
    from caffemem.report.check_table import shorten_list

    assert shorten_list("1x3x600x1000, 1x3, 1x4", 22) == "1x3x600x1000, 1x3, 1x4"
    assert shorten_list("1x3x600x1000, 1x3, 1x4", 20) == "1x3x600x1000, 1x3 +1"
    assert shorten_list("1x3x600x1000, 1x3, 1x4", 15) == "1x3x600x1000 +2"
    assert len(shorten_list("32x3x300x300", 8)) == 8
