"""What a run must fit into: ``--mem SIZE``, ``--mem host`` or ``--device NAME``, as one :class:`Budget`."""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from caffemem.errors import CaffememError
from caffemem.wording import a_or_an

_PARSE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?)(B?)\s*$", re.IGNORECASE)


class Budget(NamedTuple):
    """A memory budget: its size and the words a verdict names it by ("a GTX 1080 Ti")."""

    bytes: int
    name: str


def parse_size(text: str) -> int:
    """``11GiB``, ``12G``, ``1.5 TB``, ``800M``, ``1048576`` -> bytes. G and GiB both mean 2^30.

    Memory sizes people type are almost always binary (a "12 GB" GPU has 12 GiB), so decimal
    prefixes are read as binary too; this is stated in ``--help``.
    """
    m = _PARSE.match(text)
    if not m:
        raise CaffememError(f"cannot read memory size '{text}' (examples: 11GiB, 12G, 800M)")
    number, prefix = float(m.group(1)), m.group(2).upper()
    return int(number * (1024 ** (" KMGT".index(prefix) if prefix else 0)))


def host_available_bytes() -> int:
    """MemAvailable of this machine (Linux), for ``--mem host``."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        raise CaffememError("cannot read this machine's available memory; give --mem SIZE") from None


def is_host(mem: str | None) -> bool:
    """Whether ``--mem`` asks for this machine's available memory."""
    return bool(mem) and mem.strip().lower() == "host"


def device_budget(name: str, size: int) -> Budget:
    """A GPU's memory as the budget, named as a verdict says it ("a GTX 1080 Ti", "an RTX 3090")."""
    return Budget(size, a_or_an(name))


def budget_from_options(mem: str | None, device: str | None) -> Budget | None:
    """The budget ``--mem``/``--device`` give, or None."""
    if mem and device:
        raise CaffememError("give either --mem or --device, not both")
    if device:
        from caffemem.memory.devices import find_device

        name, size = find_device(device)
        return device_budget(name, size)
    if mem:
        if is_host(mem):
            return Budget(host_available_bytes(), "this machine's available memory")
        return Budget(parse_size(mem), "the budget")
    return None
