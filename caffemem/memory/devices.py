"""Memory of the NVIDIA GPUs that ran Caffe, for ``--device NAME`` and for the GPU a log names.

Board memory as sold (binary GiB/MiB, as nvidia-smi reports it, before the CUDA context). A name
that several boards share (``V100``, ``GTX 1060``, ``titan``) picks the most common one and says
which others it could be. Jetson boards share their memory with the CPU: the figure is the board's
whole memory, of which the GPU gets what the system leaves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from caffemem.errors import CaffememError

GiB = 1024**3
MiB = 1024**2

#: key -> (display name, bytes). Keys are what :func:`_key` makes of a name.
DEVICES: dict[str, tuple[str, int]] = {
    # Tesla / data centre: Kepler to Hopper
    "k10": ("Tesla K10 (one GPU)", 4 * GiB),
    "k20": ("Tesla K20", 5 * GiB),
    "k20m": ("Tesla K20m", 5 * GiB),
    "k20c": ("Tesla K20c", 5 * GiB),
    "k20x": ("Tesla K20X", 6 * GiB),
    "k40": ("Tesla K40", 12 * GiB),
    "k40m": ("Tesla K40m", 12 * GiB),
    "k40c": ("Tesla K40c", 12 * GiB),
    "k80": ("Tesla K80 (one GPU)", 12 * GiB),
    "m4": ("Tesla M4", 4 * GiB),
    "m6": ("Tesla M6", 8 * GiB),
    "m10": ("Tesla M10 (one GPU)", 8 * GiB),
    "m40": ("Tesla M40", 12 * GiB),
    "m40-24": ("Tesla M40 24GB", 24 * GiB),
    "m60": ("Tesla M60 (one GPU)", 8 * GiB),
    "p4": ("Tesla P4", 8 * GiB),
    "p40": ("Tesla P40", 24 * GiB),
    "p100": ("Tesla P100 16GB", 16 * GiB),
    "p100-16": ("Tesla P100 16GB", 16 * GiB),
    "p100-12": ("Tesla P100 12GB", 12 * GiB),
    "v100": ("Tesla V100 16GB", 16 * GiB),
    "v100-16": ("Tesla V100 16GB", 16 * GiB),
    "v100-32": ("Tesla V100 32GB", 32 * GiB),
    "v100s": ("Tesla V100S 32GB", 32 * GiB),
    "v100s-32": ("Tesla V100S 32GB", 32 * GiB),
    "t4": ("Tesla T4", 16 * GiB),
    "a2": ("A2", 16 * GiB),
    "a10": ("A10", 24 * GiB),
    "a16": ("A16 (one GPU)", 16 * GiB),
    "a30": ("A30", 24 * GiB),
    "a40": ("A40", 48 * GiB),
    "a100": ("A100 40GB", 40 * GiB),
    "a100-40": ("A100 40GB", 40 * GiB),
    "a100-80": ("A100 80GB", 80 * GiB),
    "h100": ("H100 80GB", 80 * GiB),
    "h100-80": ("H100 80GB", 80 * GiB),
    "h100-94": ("H100 NVL 94GB", 94 * GiB),
    "l4": ("L4", 24 * GiB),
    "l40": ("L40", 48 * GiB),
    "l40s": ("L40S", 48 * GiB),
    # GRID (cloud instances: AWS g2 has the K520)
    "gridk1": ("GRID K1 (one GPU)", 4 * GiB),
    "gridk2": ("GRID K2 (one GPU)", 4 * GiB),
    "gridk520": ("GRID K520 (one GPU)", 4 * GiB),
    "gridk340": ("GRID K340 (one GPU)", 1 * GiB),
    # GeForce: Kepler
    "gtx650": ("GeForce GTX 650", 1 * GiB),
    "gtx650ti": ("GeForce GTX 650 Ti", 1 * GiB),
    "gtx660": ("GeForce GTX 660", 2 * GiB),
    "gtx660ti": ("GeForce GTX 660 Ti", 2 * GiB),
    "gtx670": ("GeForce GTX 670", 2 * GiB),
    "gtx680": ("GeForce GTX 680", 2 * GiB),
    "gtx690": ("GeForce GTX 690 (one GPU)", 2 * GiB),
    "gtx760": ("GeForce GTX 760", 2 * GiB),
    "gtx770": ("GeForce GTX 770", 2 * GiB),
    "gtx780": ("GeForce GTX 780", 3 * GiB),
    "gtx780ti": ("GeForce GTX 780 Ti", 3 * GiB),
    "titan": ("GeForce GTX TITAN", 6 * GiB),
    "titanblack": ("GeForce GTX TITAN Black", 6 * GiB),
    "titanz": ("GeForce GTX TITAN Z (one GPU)", 6 * GiB),
    # GeForce: Maxwell
    "gtx745": ("GeForce GTX 745", 4 * GiB),
    "gtx750": ("GeForce GTX 750", 1 * GiB),
    "gtx750ti": ("GeForce GTX 750 Ti", 2 * GiB),
    "gtx950": ("GeForce GTX 950", 2 * GiB),
    "gtx960": ("GeForce GTX 960", 2 * GiB),
    "gtx960-4": ("GeForce GTX 960 4GB", 4 * GiB),
    "gtx970": ("GeForce GTX 970", 4 * GiB),
    "gtx980": ("GeForce GTX 980", 4 * GiB),
    "gtx980ti": ("GeForce GTX 980 Ti", 6 * GiB),
    "titanx": ("GeForce GTX Titan X", 12 * GiB),
    # GeForce: Pascal
    "gt1030": ("GeForce GT 1030", 2 * GiB),
    "gtx1050": ("GeForce GTX 1050", 2 * GiB),
    "gtx1050ti": ("GeForce GTX 1050 Ti", 4 * GiB),
    "gtx1060": ("GeForce GTX 1060 6GB", 6 * GiB),
    "gtx1060-6": ("GeForce GTX 1060 6GB", 6 * GiB),
    "gtx1060-3": ("GeForce GTX 1060 3GB", 3 * GiB),
    "gtx1070": ("GeForce GTX 1070", 8 * GiB),
    "gtx1070ti": ("GeForce GTX 1070 Ti", 8 * GiB),
    "gtx1080": ("GeForce GTX 1080", 8 * GiB),
    "gtx1080ti": ("GeForce GTX 1080 Ti", 11 * GiB),
    "titanx(pascal)": ("TITAN X (Pascal)", 12 * GiB),
    "titanxp": ("Titan Xp", 12 * GiB),
    # Volta, Turing
    "titanv": ("Titan V", 12 * GiB),
    "titanrtx": ("Titan RTX", 24 * GiB),
    "gtx1650": ("GeForce GTX 1650", 4 * GiB),
    "gtx1660": ("GeForce GTX 1660", 6 * GiB),
    "gtx1660ti": ("GeForce GTX 1660 Ti", 6 * GiB),
    "gtx1660super": ("GeForce GTX 1660 SUPER", 6 * GiB),
    "rtx2060": ("GeForce RTX 2060", 6 * GiB),
    "rtx2060super": ("GeForce RTX 2060 SUPER", 8 * GiB),
    "rtx2070": ("GeForce RTX 2070", 8 * GiB),
    "rtx2070super": ("GeForce RTX 2070 SUPER", 8 * GiB),
    "rtx2080": ("GeForce RTX 2080", 8 * GiB),
    "rtx2080super": ("GeForce RTX 2080 SUPER", 8 * GiB),
    "rtx2080ti": ("GeForce RTX 2080 Ti", 11 * GiB),
    # Ampere, Ada
    "rtx3050": ("GeForce RTX 3050", 8 * GiB),
    "rtx3060": ("GeForce RTX 3060", 12 * GiB),
    "rtx3060ti": ("GeForce RTX 3060 Ti", 8 * GiB),
    "rtx3070": ("GeForce RTX 3070", 8 * GiB),
    "rtx3070ti": ("GeForce RTX 3070 Ti", 8 * GiB),
    "rtx3080": ("GeForce RTX 3080", 10 * GiB),
    "rtx3080-12": ("GeForce RTX 3080 12GB", 12 * GiB),
    "rtx3080ti": ("GeForce RTX 3080 Ti", 12 * GiB),
    "rtx3090": ("GeForce RTX 3090", 24 * GiB),
    "rtx3090ti": ("GeForce RTX 3090 Ti", 24 * GiB),
    "rtx4060": ("GeForce RTX 4060", 8 * GiB),
    "rtx4060ti": ("GeForce RTX 4060 Ti", 8 * GiB),
    "rtx4070": ("GeForce RTX 4070", 12 * GiB),
    "rtx4070ti": ("GeForce RTX 4070 Ti", 12 * GiB),
    "rtx4080": ("GeForce RTX 4080", 16 * GiB),
    "rtx4090": ("GeForce RTX 4090", 24 * GiB),
    # laptops (M parts)
    "gt650m": ("GeForce GT 650M", 1 * GiB),
    "gt730m": ("GeForce GT 730M", 1 * GiB),
    "gt740m": ("GeForce GT 740M", 2 * GiB),
    "gt750m": ("GeForce GT 750M", 2 * GiB),
    "gtx765m": ("GeForce GTX 765M", 2 * GiB),
    "gtx850m": ("GeForce GTX 850M", 2 * GiB),
    "gtx860m": ("GeForce GTX 860M", 2 * GiB),
    "gtx870m": ("GeForce GTX 870M", 3 * GiB),
    "gtx880m": ("GeForce GTX 880M", 4 * GiB),
    "940m": ("GeForce 940M", 2 * GiB),
    "940mx": ("GeForce 940MX", 2 * GiB),
    "gtx950m": ("GeForce GTX 950M", 2 * GiB),
    "gtx960m": ("GeForce GTX 960M", 2 * GiB),
    "gtx965m": ("GeForce GTX 965M", 2 * GiB),
    "gtx970m": ("GeForce GTX 970M", 3 * GiB),
    "gtx980m": ("GeForce GTX 980M", 4 * GiB),
    "mx150": ("GeForce MX150", 2 * GiB),
    # Quadro (common in labs)
    "k2200": ("Quadro K2200", 4 * GiB),
    "k4000": ("Quadro K4000", 3 * GiB),
    "k5000": ("Quadro K5000", 4 * GiB),
    "k6000": ("Quadro K6000", 12 * GiB),
    "m4000": ("Quadro M4000", 8 * GiB),
    "m6000": ("Quadro M6000", 12 * GiB),
    "p5000": ("Quadro P5000", 16 * GiB),
    "p6000": ("Quadro P6000", 24 * GiB),
    "gv100": ("Quadro GV100", 32 * GiB),
    # Jetson (memory shared with the CPU)
    "jetsontk1": ("Jetson TK1 (shared memory)", 2 * GiB),
    "jetsontx1": ("Jetson TX1 (shared memory)", 4 * GiB),
    "jetsontx2": ("Jetson TX2 (shared memory)", 8 * GiB),
    "jetsonnano": ("Jetson Nano (shared memory)", 4 * GiB),
    "jetsonxaviernx": ("Jetson Xavier NX (shared memory)", 8 * GiB),
    "jetsonagxxavier": ("Jetson AGX Xavier (shared memory)", 32 * GiB),
    "jetsonagxorin": ("Jetson AGX Orin (shared memory)", 64 * GiB),
}

#: Names several boards share: the key picked first, then the others it could be.
AMBIGUOUS: dict[str, list[str]] = {
    "v100": ["v100-16", "v100-32"],
    "v100s": ["v100s-32"],
    "p100": ["p100-16", "p100-12"],
    "a100": ["a100-40", "a100-80"],
    "h100": ["h100-80", "h100-94"],
    "m40": ["m40", "m40-24"],
    "gtx1060": ["gtx1060-6", "gtx1060-3"],
    "gtx960": ["gtx960", "gtx960-4"],
    "rtx3080": ["rtx3080", "rtx3080-12"],
    "titan": ["titan", "titanblack", "titanz", "titanx", "titanx(pascal)", "titanxp", "titanv", "titanrtx"],
    "titanx": ["titanx", "titanx(pascal)", "titanxp"],
    "jetson": ["jetsontx2", "jetsontk1", "jetsontx1", "jetsonnano", "jetsonxaviernx", "jetsonagxxavier",
               "jetsonagxorin"],
}


@dataclass
class DeviceMatch:
    """A device name read: the board picked, its memory, and the boards the name could also mean."""

    name: str
    bytes: int
    alternatives: list[str] = field(default_factory=list)

    @property
    def note(self) -> str | None:
        if not self.alternatives:
            return None
        return f"'{self.name}' was picked; the name could also mean {', '.join(self.alternatives)}"


def _key(name: str) -> str:
    """A device name reduced to letters and digits: 'GeForce GTX 1080 Ti' -> 'gtx1080ti', 'A100 80GB' -> 'a100-80'."""
    text = name.lower().strip()
    text = re.sub(r"-(?:pcie|sxm\d?|nvlink|mezzanine|dgxs)\b|\s+hbm\d?e?$|\s+pcie$", "", text)
    text = re.sub(r"[\s_-]+(\d+)\s*g(?:i?b)?$", r"-\1", text)
    text = re.sub(r"\((\d+)\s*gb\)", r"-\1", text)
    for word in ("nvidia", "geforce", "tesla", "quadro", "graphics"):
        text = text.replace(word, "")
    text = re.sub(r"[\s_]+", "", text).strip("-")
    return text


def _candidates(key: str) -> list[str]:
    """Keys to try: as typed, without a gtx/rtx/gt prefix, or with one."""
    out = [key]
    bare = re.sub(r"^(?:gtx|rtx|gt)(?=\d|titan)", "", key)
    out.append(bare)
    out += [p + bare for p in ("gtx", "rtx", "gt", "grid")]
    if bare.startswith("titan"):
        out.append(bare.replace("gtx", ""))
    return list(dict.fromkeys(out))


def _table() -> dict[str, str]:
    """Every spelling -> catalogue key."""
    table = {k: k for k in DEVICES}
    for k, (display, _) in DEVICES.items():
        table.setdefault(_key(re.sub(r" \((?:one GPU|shared memory)\)", "", display)), k)
    return table


def lookup_device(name: str) -> DeviceMatch:
    """The board for a GPU name such as ``"GTX 1080 Ti"``, ``"v100-32"``, ``"Tesla V100S-PCIE-32GB"``
    or ``"TITAN X (Pascal)"``; an ambiguous name names its alternatives."""
    table = _table()
    key = _key(name)
    for candidate in _candidates(key):
        if candidate in AMBIGUOUS:
            picked, *others = AMBIGUOUS[candidate]
            display, size = DEVICES[picked]
            return DeviceMatch(display, size, [DEVICES[o][0] for o in others if DEVICES[o][0] != display])
        if candidate in table:
            display, size = DEVICES[table[candidate]]
            return DeviceMatch(display, size)
    known = ", ".join(sorted({v[0] for v in DEVICES.values()}))
    raise CaffememError(f"unknown device '{name}'; known devices: {known}; or give --mem SIZE")


def find_device(name: str) -> tuple[str, int]:
    """(display name, bytes) for a GPU name (see :func:`lookup_device`)."""
    match = lookup_device(name)
    return match.name, match.bytes


def device_names() -> list[str]:
    """Every board's full name, as ``--device`` accepts it (for shell completion)."""
    return sorted({name for name, _ in DEVICES.values()})
