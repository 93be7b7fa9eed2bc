"""The ``caffemem`` command line: parses options, calls the library, hands results to a report writer.

Nothing here computes memory; every figure comes from the library so that others can import it.
Errors in the user's input become one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from caffemem import __version__
from caffemem.errors import CaffememError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn library errors into one line and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CaffememError as err:
            click.echo(f"caffemem: error: {err}", err=True)
            sys.exit(2)
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            click.echo(f"caffemem: error: {where}{err.strerror or err}", err=True)
            sys.exit(2)
        except UnicodeDecodeError as err:
            click.echo(f"caffemem: error: not a text file (byte {err.start} is not UTF-8)", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # a bug of ours met by some input: still one line, never a traceback
            if os.environ.get("CAFFEMEM_DEBUG"):
                raise
            click.echo(f"caffemem: error: internal error ({type(err).__name__}: {err}); "
                       "set CAFFEMEM_DEBUG=1 for details and please report it", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="caffemem")
def main() -> None:
    """How much memory a Caffe net needs, and why a Caffe run died."""


def parse_input_option(values: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """``--input TOP=C,H,W`` (per-sample dims, any count) into a dict."""
    out: dict[str, tuple[int, ...]] = {}
    for value in values:
        top, sep, dims = value.partition("=")
        parts = [d.strip() for d in dims.replace("x", ",").split(",")]
        shape = tuple(int(d) for d in parts) if all(d.isdigit() for d in parts) else ()
        if not sep or not top or not shape or any(d <= 0 for d in shape):
            raise CaffememError(f"--input expects TOP=C,H,W (positive per-sample dims), got '{value}'")
        out[top] = shape
    return out


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--phase", type=click.Choice(["TRAIN", "TEST"], case_sensitive=False),
              help="Build only this phase's net (default: what the solver or net defines).")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size for every data layer.")
@click.option("--input", "inputs", multiple=True, metavar="TOP=C,H,W",
              help="Per-sample shape of a data/Input/Python top (repeatable).")
@click.option("--stage", "stages", multiple=True, help="NetState stage (repeatable), as caffe's --stage.")
@click.option("--level", type=int, help="NetState level, as caffe's --level.")
@click.option("--mode", type=click.Choice(["cpu", "gpu"], case_sensitive=False), default=None,
              help="Where Caffe runs: decides the memory model (default: gpu when the solver says "
                   "solver_mode: GPU, else cpu, as the caffe tool does).")
@click.option("--gpus", type=click.IntRange(min=1), default=1, show_default=True,
              help="GPUs of a multi-GPU run: each holds a full replica at the full batch.")
@click.option("--solver-type", default="SGD", show_default=True,
              help="Solver when none is given (SGD, Nesterov, AdaGrad, RMSProp, AdaDelta, Adam).")
@click.option("--mem", "mem", metavar="SIZE", help="Memory budget: 11GiB, 12G, 800M, or 'host'.")
@click.option("--device", metavar="NAME", help="A GPU whose memory is the budget (e.g. 'GTX 1080 Ti').")
@click.option("--weights", type=click.Path(dir_okay=False), help="A .caffemodel the run loads.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "md", "html"], case_sensitive=False),
              default="table", show_default=True)
@friendly_errors
def check(path: str, phase: str | None, batch: int | None, inputs: tuple[str, ...], stages: tuple[str, ...],
          level: int | None, mode: str, gpus: int, solver_type: str, mem: str | None, device: str | None,
          weights: str | None, fmt: str) -> None:
    """Shapes, parameters and memory of the nets Caffe would build from PATH (a net or a solver).

    Exit code 1 when a budget (--mem/--device) is given and the run will not fit.
    """
    from caffemem.check import run_check

    result = run_check(path, phase=phase, batch=batch, inputs=parse_input_option(inputs), stages=stages,
                       level=level, mode=mode.lower() if mode else None, gpus=gpus, solver_type=solver_type,
                       mem=mem, device=device, weights=weights)
    from caffemem.report import render

    click.echo(render(result, fmt.lower()), nl=False)
    for warning in result.warnings:
        click.echo(f"caffemem: warning: {warning}", err=True)
    if result.fit is not None and not result.fit.fits:
        sys.exit(1)


@main.command("upgrade")
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_path", metavar="OUT", type=click.Path(dir_okay=False), default=None,
              help="Write here instead of stdout. Never the input file itself.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists (never the input).")
@friendly_errors
def upgrade_command(in_path: str, out_path: str | None, force: bool) -> None:
    """Rewrite a legacy net or solver prototxt IN in the current format, as Caffe's
    upgrade_net_proto_text / upgrade_solver_proto_text would (V0/V1 layers, input fields,
    BatchNorm params, solver_type enum).

    The input is the user's original, so it is never overwritten, not even with --force.
    """
    import os
    import tempfile
    from pathlib import Path

    from caffemem.net.upgrade import format_text, upgrade_text

    source = Path(in_path)
    if out_path is not None and out_path != "-":
        target = Path(out_path)
        same = target.resolve() == source.resolve() or (
            target.exists() and source.exists() and os.path.samefile(target, source))
        if same:
            raise CaffememError("refusing to write over the input file; it is your original "
                         "(choose another -o)", source=in_path)
        if target.exists() and not force:
            raise CaffememError(f"{out_path} already exists; use --force to overwrite it")
    text = source.read_text(encoding="utf-8")
    done = upgrade_text(text, in_path)
    for warning in done.parse_warnings:
        click.echo(f"caffemem: warning: {warning}", err=True)
    if done.caffe_would_refuse:
        click.echo(f"caffemem: warning: Caffe itself would refuse to read {in_path} (see the "
                   "warnings above); the output leaves those parts out", err=True)
    for warning in done.result.warnings:
        click.echo(f"caffemem: warning: {warning}", err=True)
    if done.result.applied:
        click.echo(f"caffemem: upgraded {in_path} ({done.kind}): "
                   f"{', '.join(done.result.applied)}", err=True)
    else:
        click.echo(f"caffemem: {in_path} is already in the current format", err=True)
    output = format_text(done.message)
    if out_path is None or out_path == "-":
        click.echo(output, nl=False)
        return
    target = Path(out_path)
    if force:
        # Write beside the target and rename, so a failure never leaves a half-written file.
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(output)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    else:
        # "x" mode: fails instead of overwriting if the file appeared since the check above.
        try:
            with open(target, "x", encoding="utf-8") as handle:
                handle.write(output)
        except FileExistsError:
            raise CaffememError(f"{out_path} already exists; use --force to overwrite it") from None
    click.echo(f"caffemem: wrote {out_path}", err=True)


# --------------------------------------------------------------------------- caffemem log


class _LogProgress:
    """A one-line progress bar on stderr for reading big logs (only when stderr is a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.last = -1
        self.shown = False

    def __call__(self, done: int, total: int | None) -> None:
        if not total:
            return
        percent = min(100, done * 100 // total)
        if percent == self.last:
            return
        self.last = percent
        self.shown = True
        bar = "#" * (percent // 4)
        click.echo(f"\rreading {self.label} [{bar:<25}] {percent:3d}% of {total / 2**20:,.0f} MiB",
                   err=True, nl=False)

    def close(self) -> None:
        if self.shown:
            click.echo("\r" + " " * 79 + "\r", err=True, nl=False)


@main.command("log")
@click.argument("log_file", metavar="LOG", type=click.Path(dir_okay=False, allow_dash=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="table for people; json for tools; csv as Caffe's parse_log.py.")
@click.option("--run", "run_number", type=int, default=None, metavar="N",
              help="Only run N (1 = first) of a log that holds several restarts.")
@click.option("--csv-prefix", default=None, metavar="PREFIX",
              help="With --format csv: write PREFIX.train and PREFIX.test instead of stdout.")
@click.option("--layers", "verbose", is_flag=True,
              help="Table format: list each net's layers and top shapes.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@friendly_errors
def log_command(log_file: str, fmt: str, run_number: int | None, csv_prefix: str | None, verbose: bool,
                progress: bool | None) -> None:
    """Read a Caffe training LOG: nets, solver, training curve, and how each run ended."""
    from caffemem.logs import PARALLEL_MIN_BYTES, keep_freed_memory, read_log
    from caffemem.report.log_csv import write_log_csv, write_log_csv_files
    from caffemem.report.log_json import write_log_json
    from caffemem.report.log_table import render_log

    if csv_prefix is not None and fmt != "csv":
        raise CaffememError("--csv-prefix goes with --format csv")
    keep_freed_memory()  # this process only reads the log and writes it out
    show = sys.stderr.isatty() if progress is None else progress
    bar = _LogProgress(click.format_filename(log_file)) if show else None
    try:
        report = read_log(log_file, progress=bar, parallel_min_bytes=PARALLEL_MIN_BYTES)
    finally:
        if bar is not None:
            bar.close()
    try:
        runs = report.runs
        if run_number is not None:
            if not 1 <= run_number <= len(report.runs):
                raise CaffememError(f"--run {run_number}: the log holds {len(report.runs)} run(s)")
            runs = [report.runs[run_number - 1]]
        out = sys.stdout
        if fmt == "json":
            write_log_json(report, out, runs)
        elif fmt == "csv":
            if csv_prefix is not None:
                for path in write_log_csv_files(runs, csv_prefix):
                    click.echo(f"caffemem: wrote {path}", err=True)
            else:
                write_log_csv(runs, out)
        else:
            out.write(render_log(report, runs, verbose))
        out.flush()
    except BrokenPipeError:
        # `caffemem log big.log | head`: the reader went away; that is not an error to report.
        import os as _os

        _os.dup2(_os.open(_os.devnull, _os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    finally:
        report.close()


@main.command("postmortem")
@click.argument("log_file", type=click.Path(dir_okay=False))
@click.option("--net", "net_path", type=click.Path(dir_okay=False),
              help="The net or solver that ran (exact figures); default: the net echoed in the log, "
                   "else one rebuilt from the logged shapes.")
@click.option("--mem", "mem", metavar="SIZE", help="Memory of the machine it ran on (11GiB, 12G, host).")
@click.option("--device", metavar="NAME", help="The GPU it ran on (e.g. 'GTX 1080 Ti').")
@click.option("--run", "run_number", type=click.IntRange(min=1), help="Which run of the file (default: the "
              "last one that crashed, else the last one).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"], case_sensitive=False), default="text",
              show_default=True)
@friendly_errors
def postmortem_command(log_file: str, net_path: str | None, mem: str | None, device: str | None,
                       run_number: int | None, fmt: str) -> None:
    """Why a Caffe run died: how it ended, what it needed, the biggest consumers, what would fit."""
    from caffemem.check import budget_from_options
    from caffemem.logs.postmortem import postmortem
    from caffemem.report import postmortem_text

    pm = postmortem(log_file, net_path, budget_from_options(mem, device), run_number)
    click.echo(postmortem_text.render_json(pm) if fmt == "json" else postmortem_text.render_text(pm), nl=False)


@main.command("reconcile")
@click.argument("net_path", type=click.Path(dir_okay=False))
@click.argument("log_file", type=click.Path(dir_okay=False))
@click.option("--run", "run_number", type=click.IntRange(min=1), help="Which run of the log (default: the last "
              "one that crashed, else the last one).")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size for every data layer of NET.")
@click.option("--input", "inputs", multiple=True, metavar="TOP=C,H,W", help="Per-sample shape of a data top.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"], case_sensitive=False), default="text",
              show_default=True)
@friendly_errors
def reconcile_command(net_path: str, log_file: str, run_number: int | None, batch: int | None,
                      inputs: tuple[str, ...], fmt: str) -> None:
    """caffemem's shapes and data totals beside Caffe's log, per layer; exit 1 on any mismatch."""
    from caffemem.layers.registry import BuildOptions
    from caffemem.logs.reconcile import reconcile
    from caffemem.report import reconcile_text

    rec = reconcile(net_path, log_file, run_number, BuildOptions(batch=batch, inputs=parse_input_option(inputs)))
    click.echo(reconcile_text.render_json(rec) if fmt == "json" else reconcile_text.render_text(rec), nl=False)
    if rec.mismatches:
        sys.exit(1)


# --------------------------------------------------------------------------- caffemem audit


@main.command("audit")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "md"], case_sensitive=False),
              default="table", show_default=True,
              help="table for people; json (a stable contract) for tools; csv one row per file; md for reports.")
@click.option("--stage", "stages", multiple=True, help="NetState stage for every net (repeatable), as caffe's --stage.")
@click.option("--input", "inputs", multiple=True, metavar="TOP=C,H,W",
              help="Per-sample shape of a data/Input/Python top, for every net that has it (repeatable).")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size for every data layer of every net.")
@friendly_errors
def audit_command(paths: tuple[str, ...], fmt: str, stages: tuple[str, ...], inputs: tuple[str, ...],
                  batch: int | None) -> None:
    """Migration audit of Caffe nets, solvers and weights under PATH... (files or folders).

    Folders are searched recursively for .prototxt, .pt, .solver, .caffemodel and .binaryproto;
    files named explicitly are audited whatever their name. For each net: format version (V0, V1,
    current, mixed), deprecated fields and the upgrades Caffe would apply, layer types by origin
    (BVLC, fork, custom, Python), parameters and memory at the net's own batch, phases and stages,
    whether a .caffemodel beside it (same stem) or named after it fits, and which layer types have no
    equivalent in ONNX, PyTorch or OpenCV dnn.

    Exit code 0 even when some files cannot be read or built: each such file is reported with its
    error and the audit goes on. Exit code 2 only for bad usage (a PATH that does not exist).
    """
    from caffemem.audit.netfile import AnalysisSettings
    from caffemem.audit.run import run_audit
    from caffemem.layers.registry import BuildOptions

    options = BuildOptions(batch=batch, inputs=parse_input_option(inputs))
    result = run_audit(paths, AnalysisSettings(options, tuple(stages)))
    fmt = fmt.lower()
    if fmt == "json":
        from caffemem.report.audit_json import render_audit
    elif fmt == "csv":
        from caffemem.report.audit_csv import render_audit
    elif fmt == "md":
        from caffemem.report.audit_md import render_audit
    else:
        from caffemem.report.audit_table import render_audit
    try:
        click.echo(render_audit(result), nl=False)
        sys.stdout.flush()
    except BrokenPipeError:
        # `caffemem audit models/ | head`: the reader went away, which is not an error.
        import os as _os

        _os.dup2(_os.open(_os.devnull, _os.O_WRONLY), sys.stdout.fileno())
