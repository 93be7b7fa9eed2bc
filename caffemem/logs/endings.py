"""What a log's crash evidence means: which kind of crash a line reports, and which evidence wins.

Kept apart from the run builder (runs.py) because these are facts about Caffe, glog and the
shell, not about following a run: the wording of CUDA's and the C++ runtime's out-of-memory
errors, the kind each signal means, and how much each kind explains.
"""

from __future__ import annotations

import re

from caffemem.logs.model import CrashKind

# Crash kinds in order of how much they explain: a later, more explaining event (for example
# the SIGTERM line after glog's "*** Aborted at" banner) replaces a weaker one.
STRENGTH = {CrashKind.OTHER: 0, CrashKind.ABORTED: 1, CrashKind.FATAL_ERROR: 2, CrashKind.SEGFAULT: 2,
            CrashKind.KILLED: 2, CrashKind.TERMINATED: 2, CrashKind.HOST_OUT_OF_MEMORY: 3,
            CrashKind.CUDA_OUT_OF_MEMORY: 3}

_CUDA_OOM = re.compile(r"cudaSuccess \(2 vs\. 0\)|out of memory|CUDNN_STATUS_ALLOC_FAILED"
                       r"|CUBLAS_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation", re.I)
_HOST_OOM = re.compile(r"std::bad_alloc|Cannot allocate memory|MemoryError")
_SIGNAL_KIND = {"SIGTERM": CrashKind.TERMINATED, "SIGINT": CrashKind.TERMINATED, "SIGHUP": CrashKind.TERMINATED,
                "SIGKILL": CrashKind.KILLED, "SIGSEGV": CrashKind.SEGFAULT, "SIGABRT": CrashKind.ABORTED,
                "SIGBUS": CrashKind.OTHER, "SIGFPE": CrashKind.OTHER, "SIGILL": CrashKind.OTHER}
# What the shell printed when it reaped Caffe (grammar kinds -> crash kind).
SHELL_CRASH = {"shell_killed": CrashKind.KILLED, "shell_terminated": CrashKind.TERMINATED,
               "shell_segfault": CrashKind.SEGFAULT, "shell_aborted": CrashKind.ABORTED}
# Words of an error from something other than Caffe (a missing library, the shell) before its first line.
FOREIGN_ERROR = re.compile(r"error|cannot|not found|No such file|Floating point exception|Bus error"
                           r"|Illegal instruction|core dumped", re.I)


def fatal_kind(message: str) -> CrashKind:
    """The kind of a glog FATAL message or a failed CHECK: out of memory (GPU or host) or other."""
    if _CUDA_OOM.search(message):
        return CrashKind.CUDA_OUT_OF_MEMORY
    if _HOST_OOM.search(message):
        return CrashKind.HOST_OUT_OF_MEMORY
    return CrashKind.FATAL_ERROR


def signal_kind(signal: str) -> CrashKind:
    """The kind a signal glog's failure handler reports means (an unknown signal: other)."""
    return _SIGNAL_KIND.get(signal, CrashKind.OTHER)


def terminate_kind(text: str) -> CrashKind:
    """The kind of an uncaught C++ exception's lines: out of host memory, else an abort."""
    return CrashKind.HOST_OUT_OF_MEMORY if _HOST_OOM.search(text) else CrashKind.ABORTED
