"""Memory of common GPUs, for ``--device NAME``: what users mean by "will it fit on my card"."""

from __future__ import annotations

import re

from caffemem.errors import CaffememError

GiB = 1024**3

#: Board memory as sold (binary GiB, as nvidia-smi reports it, before the CUDA context).
DEVICES: dict[str, tuple[str, int]] = {
    "k40": ("Tesla K40", 12 * GiB),
    "k80": ("Tesla K80 (one GPU)", 12 * GiB),
    "m40": ("Tesla M40", 12 * GiB),
    "m40-24": ("Tesla M40 24GB", 24 * GiB),
    "p4": ("Tesla P4", 8 * GiB),
    "p40": ("Tesla P40", 24 * GiB),
    "p100": ("Tesla P100 16GB", 16 * GiB),
    "p100-12": ("Tesla P100 12GB", 12 * GiB),
    "gtx750ti": ("GeForce GTX 750 Ti", 2 * GiB),
    "gtx960": ("GeForce GTX 960", 2 * GiB),
    "gtx970": ("GeForce GTX 970", 4 * GiB),
    "gtx980": ("GeForce GTX 980", 4 * GiB),
    "gtx980ti": ("GeForce GTX 980 Ti", 6 * GiB),
    "gtx1060": ("GeForce GTX 1060 6GB", 6 * GiB),
    "gtx1070": ("GeForce GTX 1070", 8 * GiB),
    "gtx1080": ("GeForce GTX 1080", 8 * GiB),
    "gtx1080ti": ("GeForce GTX 1080 Ti", 11 * GiB),
    "titanx": ("GeForce GTX Titan X", 12 * GiB),
    "titanxp": ("Titan Xp", 12 * GiB),
    "titanv": ("Titan V", 12 * GiB),
    "titanrtx": ("Titan RTX", 24 * GiB),
    "v100": ("Tesla V100 16GB", 16 * GiB),
    "v100-16": ("Tesla V100 16GB", 16 * GiB),
    "v100-32": ("Tesla V100 32GB", 32 * GiB),
    "t4": ("Tesla T4", 16 * GiB),
    "rtx2070": ("GeForce RTX 2070", 8 * GiB),
    "rtx2080": ("GeForce RTX 2080", 8 * GiB),
    "rtx2080ti": ("GeForce RTX 2080 Ti", 11 * GiB),
    "rtx3060": ("GeForce RTX 3060", 12 * GiB),
    "rtx3080": ("GeForce RTX 3080", 10 * GiB),
    "rtx3090": ("GeForce RTX 3090", 24 * GiB),
    "rtx4090": ("GeForce RTX 4090", 24 * GiB),
    "a10": ("A10", 24 * GiB),
    "a100": ("A100 40GB", 40 * GiB),
    "a100-40": ("A100 40GB", 40 * GiB),
    "a100-80": ("A100 80GB", 80 * GiB),
    "h100": ("H100 80GB", 80 * GiB),
}


def _key(name: str) -> str:
    """A device name reduced to letters and digits: 'GeForce GTX 1080 Ti' -> '1080ti', 'A100 80GB' -> 'a100-80'."""
    text = name.lower().strip()
    text = re.sub(r"[\s_-]+(\d+)\s*gb?$", r"-\1", text)
    for word in ("nvidia", "geforce", "tesla", "quadro", "gtx", "rtx"):
        text = text.replace(word, "")
    return re.sub(r"[\s_]+", "", text).strip("-")


def find_device(name: str) -> tuple[str, int]:
    """(display name, bytes) for a GPU name such as ``"GTX 1080 Ti"``, ``"v100-32"`` or ``"A100 80GB"``."""
    key = _key(name)
    table = {_key(k): v for k, v in DEVICES.items()} | {_key(v[0]): v for v in DEVICES.values()}
    if key in table:
        return table[key]
    known = ", ".join(sorted({v[0] for v in DEVICES.values()}))
    raise CaffememError(f"unknown device '{name}'; known devices: {known}; or give --mem SIZE")
