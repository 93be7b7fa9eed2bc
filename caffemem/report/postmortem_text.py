"""The post-mortem in plain words: what happened, what the run needed, who used it, what would fit."""

from __future__ import annotations

from html import escape
from typing import TextIO

from caffemem.categories import Category as C
from caffemem.commands.display import register_display
from caffemem.commands.postmortem import PostMortem
from caffemem.modes import Mode
from caffemem.report.options import ReportOptions
from caffemem.report.units import human_bytes
from caffemem.wording import a_or_an

_KIND_WORDS = {
    "killed": ("the process was killed by the system (SIGKILL): Caffe wrote no error line and the shell "
               "printed 'Killed'. On Linux this is almost always the kernel's out-of-memory killer: the run "
               "asked for more host memory than the machine had free"),
    "terminated": "the process was stopped by a signal (SIGTERM/SIGINT): someone or something ended it",
    "cuda_out_of_memory": "CUDA ran out of GPU memory (cudaMalloc failed: 'out of memory')",
    "host_out_of_memory": "an allocation of host memory failed (std::bad_alloc)",
    "fatal_error": "Caffe stopped on a fatal error (a failed CHECK or LOG(FATAL))",
    "segfault": "the process crashed with a segmentation fault",
    "aborted": "the process aborted (SIGABRT)",
    "other": "the run crashed",
}
_MEMORY_KINDS = {"killed", "cuda_out_of_memory", "host_out_of_memory"}


def _ending(pm: PostMortem) -> list[str]:
    end = pm.run.end
    where = end.where()
    if end.layer and pm.layer_type and end.phase == "setup":
        where += f", {a_or_an(pm.layer_type)} layer"
    elif pm.layer_type and not end.layer and end.place_from_stack:
        shown = " (as its stack trace shows)"
        where = where.replace(shown, f", in {a_or_an(pm.layer_type)} layer{shown}")
    elif pm.layer_type and not end.layer:
        where += f" (in {a_or_an(pm.layer_type)} layer)"
    run = f"Run {pm.run.index + 1} of {pm.run_count}" if pm.run_count > 1 else "The run"
    div = pm.run.divergence
    if end.status == "finished":
        text = [f"{run} finished normally."]
    elif end.status == "cut_off":
        text = [f"{run} has no ending in the log: it was still running, or the log was cut off ({where})."]
    elif end.crash_kind == "other" and end.phase is None:
        text = [f"{run} never started: the system could not run Caffe."]
    else:
        text = [f"{run} crashed {where}: {_KIND_WORDS.get(end.crash_kind or 'other', 'it crashed')}."]
    if end.status == "crashed" and end.message and end.crash_kind not in ("killed",):
        said = "Caffe said" if pm.run.glog_lines else "The log says"
        text.append(f"  {said}: {end.message}")
    if div is not None:
        text.append(f"  Training diverged at iteration {div.iteration}: {div.phase} output {div.output} = {div.value}.")
    cause = pm.cause
    if cause is not None and cause.key != "cut_off":
        text.append(f"  Why: {cause.cause}.")
        text += [f"  What to do: {a}." if i == 0 else f"              {a}." for i, a in enumerate(cause.advice)]
    elif cause is not None and cause.advice:
        text.append(f"  Note: {cause.advice[0]}.")
    dev = pm.device
    if dev is not None:
        size = f", {human_bytes(dev.bytes)}" if dev.bytes else ""
        many = f" (x{dev.count}; the figures below are per GPU)" if dev.count > 1 else ""
        text.append(f"  Device: {dev.name}{size}{many} (from the {'log' if dev.source == 'log' else 'options'}).")
    return text


def _share(part: int, total: int) -> str:
    return f"{100 * part / total:.0f}%" if total else "-"


def render_text(pm: PostMortem) -> str:
    out = [f"caffemem post-mortem of {pm.source}", "", *_ending(pm)]
    fp = pm.footprint
    if fp is None:
        if pm.no_net:
            out += ["", f"No memory figures: {pm.no_net}. Give --net NET for them."]
        out += [f"  Note: {n}" for n in pm.notes]
        return "\n".join(out) + "\n"
    where = "GPU memory" if fp.mode == Mode.GPU else "host memory (CPU mode)"
    batches = [f"{net.data_batch} ({net.phase_name})" for net in pm.nets if net.data_batch is not None]
    batch = f" at batch {', '.join(batches)}" if batches else ""
    out += ["", f"What this run needed{batch}: {human_bytes(fp.total_bytes)} of {where} "
                f"(net {pm.net_origin}; solver {pm.solver_type}):"]
    for cat, n in fp.by_category.items():
        out.append(f"  {cat:<22} {human_bytes(n):>11}  {_share(n, fp.total_bytes):>4}")
    logged = [m for _, m in pm.logged_memory if m]
    if logged:
        out.append(f"  (Caffe's own 'Memory required for data' was {', '.join(f'{m:,}' for m in logged)} bytes: "
                   "forward activations only, which is why it looked small.)")
    if pm.guesses:
        out.append("  The log names no layer types, so they were read from the shapes:")
        out += [f"    - {g}" for g in pm.guesses]
    out += [f"  Note: {n}" for n in pm.notes]
    if pm.memory_notes:
        out += ["", pm.memory_notes[0] + ":"] + [f"  - {n}" for n in pm.memory_notes[1:]]
    if pm.consumers:
        out += ["", "Biggest consumers:"]
        for c in pm.consumers:
            parts = [f"{category_words(k)} {human_bytes(v)}" for k, v in
                     sorted(c.bytes.items(), key=lambda kv: -kv[1]) if v >= c.total * 0.05]
            params = f", {c.params:,} weights" if c.params else ""
            out.append(f"  {c.layer} ({c.type}{params}): {human_bytes(c.total)} = " + " + ".join(parts))
    out += ["", *_advice(pm)]
    return "\n".join(out) + "\n"


def _advice(pm: PostMortem) -> list[str]:
    fp = pm.footprint
    assert fp is not None
    lines = ["What would fit:"]
    # what the weights hold (the CUDA runtime is fixed too, but no layer's weights)
    fixed = fp.by_category.get(C.WEIGHTS, 0) + fp.by_category.get(C.WEIGHT_GRADIENTS, 0) + \
        fp.by_category.get(C.SOLVER_HISTORY, 0)
    fit = pm.fit
    died_of_memory = pm.run.end.crash_kind in _MEMORY_KINDS
    if fit is not None:
        verdict = "fits" if fit.fits else "does not fit"
        lines.append(f"  on {fit.budget_name} ({human_bytes(fit.budget_bytes)}) this run {verdict}"
                     + (" by the prediction, but it died of memory (see above)." if fit.fits and died_of_memory
                        else "."))
        if fit.max_batch is not None and fit.max_batch >= 1 and fit.fits and died_of_memory and pm.batch:
            lines.append(f"  try a batch below {pm.batch} (e.g. {max(1, pm.batch // 2)}) rather than a bigger one; "
                         "iter_size keeps the effective batch.")
        elif fit.max_batch is not None and fit.max_batch >= 1:
            lines.append(f"  the largest batch that fits is {fit.max_batch}, with every data layer at that batch.")
        elif fit.max_batch is None and died_of_memory and pm.batch == 1:
            lines.append("  it died of memory at batch 1 already: free the GPU of other processes, make the input or "
                         "the largest layers smaller, or use a device with more memory.")
        elif fit.fixed_bytes is not None:
            at_one = fit.fixed_bytes + (fit.per_sample_bytes or 0)
            lines.append(f"  no batch fits: even at batch 1 it needs {human_bytes(at_one)}"
                         " — shrink the largest layers or use a machine with more memory.")
    elif pm.at_batch_one is None:
        lines.append("  give --mem SIZE (the machine's memory) or --device NAME (the GPU) for a verdict and the "
                     "largest batch that fits.")
    elif pm.at_batch_one is not None:
        lines.append(f"  at batch 1 the same run needs {human_bytes(pm.at_batch_one)}; every sample adds about "
                     f"{human_bytes((fp.total_bytes - pm.at_batch_one) / max(1, (pm.batch or 2) - 1))}. "
                     "Give --mem SIZE or --device NAME for the largest batch that fits.")
    big = pm.heaviest
    if fixed > fp.total_bytes * 0.5 and big is not None and big.params:
        lines.append(f"  most of it does not depend on the batch: weights, their gradients and the solver's history "
                     f"({human_bytes(fixed)}), dominated by {big.layer} ({big.params:,} weights). Reducing the "
                     f"batch alone cannot save much; make {big.layer} smaller (for example pool or stride before "
                     "it, or fewer outputs), or use a solver with less state.")
    if pm.run.end.crash_kind not in _MEMORY_KINDS and pm.run.end.status == "crashed":
        lines.append("  (this crash does not look like a memory failure; the figures above are for reference)")
    return lines


def category_words(category: str) -> str:
    return {C.WEIGHTS: "weights", C.WEIGHT_GRADIENTS: "their gradient", C.SOLVER_HISTORY: "solver history",
            C.ACTIVATIONS: "activations", C.ACTIVATION_GRADIENTS: "activation gradients",
            C.LAYER_BUFFERS: "layer buffers", C.PREFETCH: "prefetch", C.CUDNN_WORKSPACE: "cuDNN workspace"
            }.get(category, category)


def write(pm: PostMortem, out: TextIO, options: ReportOptions) -> None:
    """``caffemem postmortem --format text``."""
    out.write(render_text(pm))


def html(pm: PostMortem) -> str:
    """The text report for notebooks (``PostMortem._repr_html_``)."""
    return f"<pre class='caffemem-postmortem'>{escape(render_text(pm))}</pre>"


register_display(PostMortem, "html", html)
