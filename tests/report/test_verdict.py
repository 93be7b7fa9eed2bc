"""The verdict names the memory it judges and the batches it assumes, and says when it is tight."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from conftest import EXAMPLES

import caffemem
from caffemem.cli import main
from caffemem.report.footprint_rows import headline

NET = str(EXAMPLES / "small_train_val.prototxt")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_verdict_names_memory_and_batches() -> None:
    _, out, _ = run("check", NET, "--batch", "64")
    assert re.search(r"needs [\d.]+ MiB of host memory \(CPU mode\) at TRAIN batch 64, TEST batch 64", out)
    _, out, _ = run("check", NET)
    assert "at TRAIN batch 64, TEST batch 100" in out  # each net's own batch
    _, out, _ = run("check", NET, "--mode", "gpu")
    assert "of GPU memory per device at TRAIN batch 64, TEST batch 100" in out
    _, out, _ = run("check", NET, "--gpus", "2")  # --gpus implies GPU mode
    assert "of GPU memory per device (each of 2 GPUs)" in out


def test_largest_batch_says_how_it_is_counted() -> None:
    _, out, _ = run("check", NET, "--mem", "40MiB")
    assert "largest batch that fits:" in out and "(every data layer at that batch, TEST nets' included)" in out


def test_gpus_imply_gpu_mode_unless_cpu_is_asked_for() -> None:
    code, out, _ = run("check", NET, "--gpus", "2", "--format", "json")
    assert code == 0 and json.loads(out)["footprint"]["mode"] == "gpu"
    code, _, err = run("check", NET, "--gpus", "2", "--mode", "cpu")
    assert code == 2 and "--mode cpu" in err


def _total(batch: int = 64) -> int:
    return caffemem.check(NET, batch=batch).total_bytes


def test_tight_fit_shows_digits_enough() -> None:
    total = _total()
    budget = int(total * 1.01)
    result = caffemem.check(NET, batch=64, mem=budget)
    text = headline(result)
    assert result.fit.fits and result.fit.tight
    assert "fits, but tight (99.0% of it" in text
    needed, _, rest = text.partition(" of host memory")
    assert needed == f"needs {total / 2**20:.2f} MiB"
    assert f"budget {budget / 2**20:.2f} MiB" in rest
    assert result.to_dict()["budget"]["tight"] is True


def test_tight_miss_is_not_shown_as_equal_numbers() -> None:
    total = _total()
    budget = total - 10_000  # 0.02 % short: at one decimal both would read 48.3 MiB
    result = caffemem.check(NET, batch=64, mem=budget)
    text = headline(result)
    assert not result.fit.fits and result.fit.tight
    assert "will not fit, but it is tight" in text
    needed = text.split("needs ", 1)[1].split(" of ", 1)[0]
    given = text.split("budget ", 1)[1].split(":", 1)[0]
    assert needed != given and needed.endswith("MiB") and given.endswith("MiB")


def test_a_clear_fit_is_not_tight() -> None:
    result = caffemem.check(NET, batch=64, mem="1GiB")
    assert result.fit.fits and not result.fit.tight and "tight" not in headline(result)
    assert "budget 1.0 GiB: fits" in headline(result)
