"""A reader that closes the pipe early (``caffemem log big.log | head``) is not an error: exit 0, no
traceback, nothing on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def _big_log(path: Path, blocks: int = 3000) -> Path:
    lines = (ROOT / "sample_logs" / "imagedata-conv-fc-killed.log").read_text().splitlines()
    head = [line for line in lines if "Iteration" not in line and "net output" not in line and line != "Killed"]
    stamp = "I0101 00:00:00.000000  1"
    body = [f"{stamp} solver.cpp:228] Iteration {i}, loss = 0.5\n"
            f"{stamp} solver.cpp:244]     Train net output #0: loss = 0.5 (* 1 = 0.5 loss)\n"
            f"{stamp} sgd_solver.cpp:106] Iteration {i}, lr = 0.01" for i in range(blocks)]
    path.write_text("\n".join(head + body) + "\n")
    return path


def test_a_closed_pipe_is_a_quiet_exit_0(tmp_path: Path) -> None:
    log = _big_log(tmp_path / "big.log")
    reader = "import sys; sys.stdin.buffer.read(10)"
    cmd = (f"{sys.executable} -m caffemem log {log} --format json --no-progress | "
           f"{sys.executable} -c '{reader}'; exit ${{PIPESTATUS[0]}}")
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_csv_into_head_is_a_quiet_exit_0_after_one_header(tmp_path: Path) -> None:
    """``caffemem log --format csv LOG | head -1``: the one table's header, then a quiet exit."""
    log = _big_log(tmp_path / "big.log", blocks=20000)
    cmd = f"{sys.executable} -m caffemem log --format csv --no-progress {log} | head -1; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == "Run,Phase,TestNet,NumIters,Seconds,LearningRate,loss\n"


def test_shell_completion_offers_the_writers_formats() -> None:
    """The README's completion line works: bash completion of ``check --format`` lists the table's formats."""
    import os

    from caffemem.report import formats

    env = dict(os.environ, COMP_WORDS="caffemem check x --format ", COMP_CWORD="4",
               _CAFFEMEM_COMPLETE="bash_complete")
    done = subprocess.run([sys.executable, "-m", "caffemem"], env=env, capture_output=True, text=True, timeout=60)
    offered = [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]
    assert offered == formats("check")


def test_the_progress_bar_shows_rate_and_time_left_and_never_goes_back(capsys) -> None:  # noqa: ANN001
    from caffemem.cli import _LogProgress

    now = [0.0]
    bar = _LogProgress("big.log", min_seconds=0.5)
    bar.clock = lambda: now[0]
    bar.start = 0.0
    mib = 2**20
    bar(10 * mib, 100 * mib)  # before half a second: nothing yet
    assert capsys.readouterr().err == ""
    now[0] = 1.0
    bar(20 * mib, 100 * mib)
    shown = capsys.readouterr().err
    assert "20% of 100 MiB" in shown and "(20 MiB/s, 4 s left)" in shown
    now[0] = 2.0
    bar(5 * mib, 100 * mib)  # a second reader's position behind the first: ignored, one bar per file
    assert capsys.readouterr().err == ""
    bar.close()


def test_postmortem_and_reconcile_take_progress(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from caffemem.cli import main

    log = ROOT / "sample_logs" / "imagedata-conv-fc-killed.log"
    for args in (["postmortem", str(log), "--progress"], ["postmortem", str(log), "--no-progress"]):
        assert CliRunner().invoke(main, args).exit_code == 0


def test_shell_completion_offers_device_names() -> None:
    import os

    env = dict(os.environ, COMP_WORDS="caffemem check x --device 1080", COMP_CWORD="4",
               _CAFFEMEM_COMPLETE="bash_complete")
    done = subprocess.run([sys.executable, "-m", "caffemem"], env=env, capture_output=True, text=True, timeout=60)
    offered = [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]
    assert "GeForce GTX 1080 Ti" in offered and all("1080" in name for name in offered)


def test_audit_reports_progress_in_files(capsys) -> None:  # noqa: ANN001
    """The audit's bar counts files (a folder of models), and reaches every one of them."""
    from caffemem.commands.audit.run import run_audit

    seen: list[tuple[int, int | None]] = []
    result = run_audit([str(ROOT / "examples")], progress=lambda done, total: seen.append((done, total)))
    total = len(result.files)
    assert total >= 2 and seen[0] == (0, total) and seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_the_bar_in_files_shows_a_count_not_mebibytes(capsys) -> None:  # noqa: ANN001
    from caffemem.cli import _LogProgress

    now = [0.0]
    bar = _LogProgress("models/", min_seconds=0.5, unit="files")
    bar.clock = lambda: now[0]
    bar.start = 0.0
    now[0] = 2.0
    bar(40, 160)
    shown = capsys.readouterr().err
    assert "25% of 160 files" in shown and "(20 files/s, 6 s left)" in shown
    bar.close()
