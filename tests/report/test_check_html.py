"""The HTML report is one self-contained page with everything a reader needs; Markdown carries the
warnings and unanalysed layers too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import EXAMPLES

import caffemem
from caffemem.report import render
from caffemem.report.units import human_bytes

NET = str(EXAMPLES / "small_train_val.prototxt")
PY_NET = ('layer { name: "py" type: "Python" top: "data" python_param { module: "m" layer: "L" } }\n'
          'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }\n')


@pytest.fixture(scope="module")
def page() -> str:
    return render(caffemem.check(NET, mem="40MiB"), "html")


def test_self_contained(page: str) -> None:
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "http" not in page and "<link" not in page and not re.search(r"\bsrc=", page)
    assert page.count("<script>") == 1  # the sorter, inline


def test_budget_bar_and_category_totals(page: str) -> None:
    assert "class='budget'" in page and "budget 40.0 MiB" in page
    for category in ("activations", "activation_gradients", "weights", "solver_history", "runtime"):
        assert f"<td>{category}</td>" in page
    assert "<th>total</th>" in page


def test_allocation_stages(page: str) -> None:
    stages = re.findall(r"<div class='name'>([^<]+)</div>", page)
    assert stages == ["set-up", "first forward", "first backward", "test net", "solver history", "snapshot"]
    last = re.findall(r"<div class='val'>\+[^=]+= ([^<]+)</div>", page)[-1]
    # cumulative: the last bar is the run's total (TEST batch 100 here)
    assert last == human_bytes(caffemem.check(NET, mem="40MiB").footprint.total_bytes)


def test_sortable_layer_tables(page: str) -> None:
    assert page.count("<table class='sortable'>") == 2  # TRAIN and TEST
    assert "addEventListener('click'" in page and "data-v=" in page
    row = re.search(r"<tr><td class='n' data-v='\d+'>\d+</td><td>fc3</td>.*?</tr>", page)
    assert row and "data-v='589952'" in row.group(0)  # params sort by value, not by text


def test_warnings_and_unanalysed_layers(tmp_path: Path) -> None:
    html = render(caffemem.check(PY_NET), "html")
    assert "Not analysed (2 layers)" in html and "<code>py</code> (Python, TEST)" in html
    assert "never imported or run" in html
    page = render(caffemem.check(NET), "html")
    assert "Warnings (2)" in page and "per-sample shape taken from the dataset" in page
    md = render(caffemem.check(PY_NET), "md")
    assert "**Not analysed (2 layers):**" in md and "- `py` (Python, TEST):" in md
    md = render(caffemem.check(NET), "md")
    assert "**Warnings (2):**" in md and "| first backward |" in md


def test_notebook_view_is_the_page_body(page: str) -> None:
    result = caffemem.check(NET, mem="40MiB")
    body = result._repr_html_()
    assert body is not None and body.startswith("<div class='caffemem'>") and body in page
