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
from caffemem.errors import CaffememError, one_line

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
            click.echo(one_line(f"caffemem: error: {where}{err.strerror or err}"), err=True)
            sys.exit(2)
        except UnicodeDecodeError as err:
            click.echo(f"caffemem: error: not a text file (byte {err.start} is not UTF-8)", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # a bug of ours met by some input: still one line, never a traceback
            if os.environ.get("CAFFEMEM_DEBUG"):
                raise
            click.echo(one_line(f"caffemem: error: internal error ({type(err).__name__}: {err}); "
                                "set CAFFEMEM_DEBUG=1 for details and please report it"), err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="caffemem")
def main() -> None:
    """How much memory a Caffe net needs, and why a Caffe run died."""


def _format_option(command: str, help_text: str | None = None) -> Callable[[F], F]:
    """``--format``, its choices and default taken from the table of writers (caffemem.report.WRITERS)."""
    from caffemem.report import formats

    choices = formats(command)
    return click.option("--format", "fmt", type=click.Choice(choices, case_sensitive=False), default=choices[0],
                        show_default=True, help=help_text)


def _emit(command: str, fmt: str, result: Any, options: Any = None) -> None:
    """Write ``result`` to stdout in ``fmt``; a reader that went away (``| head``) is not an error."""
    from caffemem.report import write

    try:
        write(command, fmt, result, sys.stdout, options)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader took what it wanted (`caffemem log big.log | head`): not an error, and Python
        # must not complain again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _complete_device(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of ``--device``: the boards whose name contains what was typed."""
    from caffemem.memory.devices import device_names

    typed = incomplete.lower()
    return [name for name in device_names() if typed in name.lower()]


def parse_input_option(values: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """``--input TOP=C,H,W`` (per-sample dims) or ``TOP=N,C,H,W!`` (the whole shape, batch included) into
    a dict; whole shapes are :class:`~caffemem.layers.registry.WholeShape` values."""
    from caffemem.net.inputs import parse_input

    out: dict[str, tuple[int, ...]] = {}
    for value in values:
        top, shape = parse_input(value)
        out[top] = shape
    return out


def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` wins); 100 when stdout is no terminal."""
    try:  # shutil.get_terminal_size's rule for the columns, without importing shutil (and its compressors)
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 100
    except (AttributeError, ValueError, OSError):
        return 100


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--phase", type=click.Choice(["TRAIN", "TEST"], case_sensitive=False),
              help="Build only this phase's net (default: what the solver or net defines).")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size for every data layer.")
@click.option("--input", "inputs", multiple=True, metavar="TOP=C,H,W",
              help="Shape of a top caffemem cannot know (data/Input/Python layers, fork layers): per sample "
                   "(TOP=C,H,W, the batch is added), or whole with a final '!' (TOP=N,C,H,W!, e.g. "
                   "rois=300,5!). Repeatable.")
@click.option("--stage", "stages", multiple=True, help="NetState stage (repeatable), as caffe's --stage.")
@click.option("--level", type=int, help="NetState level, as caffe's --level.")
@click.option("--mode", type=click.Choice(["cpu", "gpu"], case_sensitive=False), default=None,
              help="Where Caffe runs: decides the memory model (default: gpu when the solver says "
                   "solver_mode: GPU, as the caffe tool does, or with --device or --gpus N; else cpu).")
@click.option("--gpus", type=click.IntRange(min=1), default=1, show_default=True,
              help="GPUs of a multi-GPU run: each holds a full replica at the full batch (implies --mode gpu).")
@click.option("--solver-type", default="SGD", show_default=True,
              help="Solver when none is given (SGD, Nesterov, AdaGrad, RMSProp, AdaDelta, Adam).")
@click.option("--mem", "mem", metavar="SIZE", help="Memory budget: 11GiB, 12G, 800M, or 'host'.")
@click.option("--device", metavar="NAME", shell_complete=_complete_device,
              help="A GPU whose memory is the budget (e.g. 'GTX 1080 Ti').")
@click.option("--weights", type=click.Path(dir_okay=False), help="A .caffemodel the run loads.")
@click.option("--wide", is_flag=True, help="Table format: a column per memory category and exact byte totals, "
              "however wide the lines get (default: fit the terminal).")
@_format_option("check")
@friendly_errors
def check(path: str, phase: str | None, batch: int | None, inputs: tuple[str, ...], stages: tuple[str, ...],
          level: int | None, mode: str, gpus: int, solver_type: str, mem: str | None, device: str | None,
          weights: str | None, wide: bool, fmt: str) -> None:
    """Shapes, parameters and memory of the nets Caffe would build from PATH (a net or a solver).

    Exit code 1 when a budget (--mem/--device) is given and the run will not fit.
    """
    from caffemem.commands.check import run_check
    from caffemem.report.options import ReportOptions

    result = run_check(path, phase=phase, batch=batch, inputs=parse_input_option(inputs), stages=stages,
                       level=level, mode=mode.lower() if mode else None, gpus=gpus, solver_type=solver_type,
                       mem=mem, device=device, weights=weights)
    _emit("check", fmt, result, ReportOptions(width=terminal_width(), wide=wide))
    for warning in result.warnings:
        click.echo(one_line(f"caffemem: warning: {warning}"), err=True)
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
    from caffemem.commands.upgrade import run_upgrade

    done = run_upgrade(in_path, out_path, force)
    for warning in done.warnings:
        click.echo(one_line(f"caffemem: warning: {warning}"), err=True)
    if done.applied:
        click.echo(f"caffemem: upgraded {in_path} ({done.done.kind}): {', '.join(done.applied)}", err=True)
    else:
        click.echo(f"caffemem: {in_path} is already in the current format", err=True)
    if done.written is None:
        click.echo(done.text, nl=False)
    else:
        click.echo(f"caffemem: wrote {done.written}", err=True)


# --------------------------------------------------------------------------- caffemem log


class _LogProgress:
    """A one-line progress bar on stderr for reading big inputs (only when stderr is a terminal):
    percent, rate and time left, never going backwards (one bar per file)."""

    def __init__(self, label: str, min_seconds: float = 0.5, unit: str = "MiB", verb: str = "reading") -> None:
        import time

        self.label = label
        self.verb = verb
        self.unit = unit  # "MiB": done and total are bytes; else a count of things (audit's files)
        self.last = -1
        self.shown = False
        self.done = 0
        self.clock = time.monotonic
        self.start = self.clock()
        self.min_seconds = min_seconds  # quick reads never show a bar

    def __call__(self, done: int, total: int | None) -> None:
        if not total or done < self.done:
            return
        self.done = done
        percent = min(100, done * 100 // total)
        elapsed = self.clock() - self.start
        if percent == self.last or elapsed < self.min_seconds:
            return
        self.last = percent
        self.shown = True
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f", {(total - done) / rate:,.0f} s left" if rate > 0 and done < total else ""
        bar = "#" * (percent // 4)
        scale = 2**20 if self.unit == "MiB" else 1
        click.echo(f"\r{self.verb} {self.label} [{bar:<25}] {percent:3d}% of {total / scale:,.0f} {self.unit} "
                   f"({rate / scale:,.0f} {self.unit}/s{left})   ", err=True, nl=False)

    def close(self) -> None:
        if self.shown:
            click.echo("\r" + " " * 100 + "\r", err=True, nl=False)


def _progress_bar(path: str, progress: bool | None) -> _LogProgress | None:
    """The bar for reading ``path`` when asked (``--progress``) or when stderr is a terminal."""
    show = sys.stderr.isatty() if progress is None else progress
    return _LogProgress(click.format_filename(path)) if show and path != "-" else None


_OWN_PAIRING_HELP = (
    "With --csv-prefix: write caffemem's own curve rows instead of parse_log.py's, one pair of files "
    "per run (PREFIX.runN.* for several). More correct: each row holds its own iteration's learning rate "
    "and outputs, and every row is kept. parse_log.py gives a row the lr last printed before the row's "
    "first output (usually the previous display's; the first row gets the second row's), drops an output "
    "printed as nan (a row with nothing else is lost), drops the last row when it is short of outputs (and "
    "a table's only row), and counts seconds from the file's first Solving line, across restarts.")


@main.command("log")
@click.argument("log_file", metavar="LOG", type=click.Path(dir_okay=False, allow_dash=True))
@_format_option("log", "table for people; json for tools; csv: one table on stdout, or parse_log.py's "
                "files with --csv-prefix.")
@click.option("--run", "run_number", type=int, default=None, metavar="N",
              help="Only run N (1 = first) of a log that holds several restarts.")
@click.option("--csv-prefix", default=None, metavar="PREFIX",
              help="With --format csv: write PREFIX.train and PREFIX.test as Caffe's tools/extra/parse_log.py "
                   "does, a drop-in (the same rows, values and bytes; a NaN Caffe printed is kept as nan "
                   "where parse_log.py drops it or stops). An existing directory PREFIX gives "
                   "PREFIX/<LOG name>.train and .test, as 'parse_log.py LOG DIR'. A table without rows is "
                   "not written.")
@click.option("--own-pairing", is_flag=True, help=_OWN_PAIRING_HELP)
@click.option("--delimiter", default=",", show_default=True, metavar="CHAR",
              help="With --format csv: the column separator (as parse_log.py's --delimiter; '\\t' is a tab).")
@click.option("--year", type=int, default=None, metavar="YYYY",
              help="With --csv-prefix: the year of the log's first line (glog prints none; parse_log.py's "
                   "Seconds depend on it across a new year or Feb 29). Default: as parse_log.py, the year of "
                   "the file's ctime; this year for standard input.")
@click.option("--force", is_flag=True, help="With --csv-prefix: overwrite existing PREFIX.train/PREFIX.test.")
@click.option("--layers", "verbose", is_flag=True,
              help="Table format: list each net's layers and top shapes.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@friendly_errors
def log_command(log_file: str, fmt: str, run_number: int | None, csv_prefix: str | None, own_pairing: bool,
                delimiter: str, year: int | None, force: bool, verbose: bool, progress: bool | None) -> None:
    """Read a Caffe training LOG: nets, solver, training curve, and how each run ended.

    --format csv writes the curve as one table on stdout: columns Run, Phase, TestNet, NumIters,
    Seconds, LearningRate and every output (training outputs first), one row per iteration shown,
    each with its own learning rate and outputs (caffemem's own pairing, as --own-pairing).
    With --csv-prefix it writes parse_log.py's two files instead, byte for byte.
    """
    from caffemem.report.log_csv import check_delimiter
    from caffemem.report.options import ReportOptions

    fmt = fmt.lower()
    if fmt != "csv":
        for name, given in (("--csv-prefix", csv_prefix is not None), ("--own-pairing", own_pairing),
                            ("--delimiter", delimiter != ","), ("--year", year is not None)):
            if given:
                raise CaffememError(f"{name} goes with --format csv")
    delimiter = check_delimiter(delimiter)
    if csv_prefix is not None and not own_pairing:
        if run_number is not None:
            raise CaffememError("--run picks a run of caffemem's own curve: add --own-pairing "
                                "(parse_log.py reads the whole file as one)")
        _parse_log_files(log_file, csv_prefix, year, force, delimiter, progress)
        return
    if year is not None:
        raise CaffememError("--year goes with parse_log.py's files (--csv-prefix without --own-pairing); "
                            "caffemem's own curve needs no year")
    from caffemem.commands.log import run_log
    from caffemem.logs import keep_freed_memory

    if csv_prefix is not None:
        from caffemem.report.log_csv import csv_paths

        paths = csv_paths(log_file, csv_prefix)  # (checked before the log is read)
    keep_freed_memory()  # this process only reads the log and writes it out
    bar = _progress_bar(log_file, progress)
    try:
        result = run_log(log_file, run_number, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    with result:
        if csv_prefix is not None:
            from caffemem.report.log_csv import write_log_csv_files

            for path in write_log_csv_files(result.runs, paths, force, delimiter):
                click.echo(f"caffemem: wrote {path}", err=True)
        else:
            _emit("log", fmt, result, ReportOptions(layers=verbose, delimiter=delimiter))


def _parse_log_files(log_file: str, prefix: str, year: int | None, force: bool, delimiter: str,
                     progress: bool | None) -> None:
    """``log --csv-prefix``: parse_log.py's two files in one pass over LOG, without the main reader."""
    from caffemem.commands.log import run_parse_log
    from caffemem.report.log_csv import csv_paths, write_parse_log_files

    paths = csv_paths(log_file, prefix)
    bar = _progress_bar(log_file, progress)
    try:
        with run_parse_log(log_file, year, progress=bar) as result:
            written = write_parse_log_files(result, paths, force, delimiter)
    finally:
        if bar is not None:
            bar.close()
    if not result.started:
        click.echo(one_line(f"caffemem: warning: {log_file} has no 'Solving' line with a glog time: "
                            "parse_log.py starts reading after it, so there are no rows"), err=True)
    for done in written:
        if done.rows:
            click.echo(one_line(f"caffemem: wrote {done.path}"), err=True)
        else:
            click.echo(one_line(f"caffemem: {done.path} not written: no {done.table.name} rows "
                                "(parse_log.py writes no empty file)"), err=True)
        for name, rows in done.table.dropped.items():
            click.echo(one_line(f"caffemem: warning: {done.path}: output {name!r} is not in the first row, "
                                f"so it has no column: left out of {rows} row(s) (parse_log.py stops with a "
                                "ValueError there)"), err=True)


@main.command("postmortem")
@click.argument("log_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--net", "net_path", type=click.Path(dir_okay=False),
              help="The net or solver that ran (exact figures); default: the net echoed in the log, "
                   "else one rebuilt from the logged shapes.")
@click.option("--mem", "mem", metavar="SIZE", help="Memory of the machine it ran on (11GiB, 12G, host).")
@click.option("--device", metavar="NAME", shell_complete=_complete_device,
              help="The GPU it ran on (e.g. 'GTX 1080 Ti').")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="The .caffemodel the run loaded (fine-tuning: caffe train -weights).")
@click.option("--run", "run_number", type=click.IntRange(min=1), help="Which run of the file (default: the "
              "last one that crashed, else the last one).")
@click.option("--search", multiple=True, type=click.Path(file_okay=False),
              help="A folder to look for the net the log names in (besides the log's own).")
@_format_option("postmortem")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@friendly_errors
def postmortem_command(log_file: str, net_path: str | None, mem: str | None, device: str | None,
                       weights: str | None, run_number: int | None, fmt: str, search: tuple[str, ...] = (),
                       progress: bool | None = None) -> None:
    """Why a Caffe run died: how it ended, what it needed, the biggest consumers, what would fit."""
    from caffemem.commands.postmortem import postmortem
    from caffemem.memory.budget import budget_from_options

    bar = _progress_bar(log_file, progress)
    try:
        pm = postmortem(log_file, net_path, budget_from_options(mem, device), run_number,
                        device_name=device, weights=weights, progress=bar, search=tuple(search))
    finally:
        if bar is not None:
            bar.close()
    _emit("postmortem", fmt, pm)


@main.command("reconcile")
@click.argument("net_path", type=click.Path(dir_okay=False))
@click.argument("log_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--run", "run_number", type=click.IntRange(min=1), help="Which run of the log (default: the last "
              "one that crashed, else the last one).")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size for every data layer of NET.")
@click.option("--input", "inputs", multiple=True, metavar="TOP=C,H,W",
              help="Per-sample shape of a data top (TOP=N,C,H,W! for the whole shape).")
@click.option("--phase", type=click.Choice(["TRAIN", "TEST"], case_sensitive=False),
              help="Reconcile only this phase's net (default: every phase the log shows and NET can build).")
@_format_option("reconcile")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@friendly_errors
def reconcile_command(net_path: str, log_file: str, run_number: int | None, batch: int | None,
                      inputs: tuple[str, ...], fmt: str, phase: str | None = None,
                      progress: bool | None = None) -> None:
    """caffemem's shapes and data totals beside Caffe's log, per layer; exit 1 on a mismatch, 2 on bad input."""
    from caffemem.commands.reconcile import reconcile
    from caffemem.net.inputs import build_options

    bar = _progress_bar(log_file, progress)
    try:
        rec = reconcile(net_path, log_file, run_number, build_options(batch, parse_input_option(inputs)),
                        phase=phase.upper() if phase else None, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    _emit("reconcile", fmt, rec)
    if rec.mismatches:
        sys.exit(1)


# --------------------------------------------------------------------------- caffemem audit


@main.command("audit")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=click.Path())
@_format_option("audit", "table for people; json (a stable contract) for tools; csv one row per file; "
                "md for reports.")
@click.option("--stage", "stages", multiple=True, help="NetState stage for every net (repeatable), as caffe's --stage.")
@click.option("--input", "inputs", multiple=True, metavar="TOP=C,H,W",
              help="Per-sample shape of a data/Input/Python top, for every net that has it (repeatable).")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size for every data layer of every net.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr, in files (default: when stderr is a terminal).")
@friendly_errors
def audit_command(paths: tuple[str, ...], fmt: str, stages: tuple[str, ...], inputs: tuple[str, ...],
                  batch: int | None, progress: bool | None) -> None:
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
    from caffemem.commands.audit.netfile import AnalysisSettings
    from caffemem.commands.audit.run import run_audit
    from caffemem.net.inputs import build_options

    options = build_options(batch, parse_input_option(inputs))
    show = sys.stderr.isatty() if progress is None else progress
    bar = _LogProgress(click.format_filename(paths[0]) + (" ..." if len(paths) > 1 else ""), unit="files",
                       verb="auditing") if show else None
    try:
        result = run_audit(paths, AnalysisSettings(options, tuple(stages)), progress=bar)
    finally:
        if bar is not None:
            bar.close()
    _emit("audit", fmt, result)
