"""``--input``: shapes the user gives for tops caffemem cannot know.

``TOP=C,H,W`` is a per-sample shape: the data layer (or Python layer) that makes ``TOP`` adds its
batch. ``TOP=N,C,H,W!`` is the whole shape, batch included, for tops whose first axis is no batch
(Faster R-CNN's 300 rois: ``rois=300,5!``). Any top whose shape caffemem cannot compute may be
given (a data layer's, a Python layer's, an unknown or unanalysable layer's); a top caffemem
computes itself (a convolution's) may not: the net builder says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from caffemem.errors import CaffememError
from caffemem.layers.registry import BuildOptions, Shape


class WholeShape(tuple[int, ...]):
    """A shape given whole (``TOP=N,C,H,W!``): the batch axis included, used exactly as given."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "x".join(str(d) for d in self) + "!"


def parse_shape(text: str, what: str = "--input") -> Shape:
    """``3,224,224`` or ``3x224x224`` (per sample), ``300,5!`` (whole: a :class:`WholeShape`)."""
    body = text.strip()
    whole = body.endswith("!")
    body = body.rstrip("!").strip()
    parts = [d.strip() for d in body.replace("x", ",").split(",")]
    if not body or not all(d.isdigit() for d in parts) or any(int(d) <= 0 for d in parts):
        raise CaffememError(f"{what} expects TOP=C,H,W (positive per-sample dims) or TOP=N,C,H,W! (the whole "
                            f"shape), got '{text}'")
    shape = tuple(int(d) for d in parts)
    return WholeShape(shape) if whole else shape


def parse_input(value: str) -> tuple[str, Shape]:
    """``data=3,224,224`` -> ("data", (3, 224, 224)); ``rois=300,5!`` -> ("rois", WholeShape((300, 5)))."""
    top, sep, dims = value.partition("=")
    if not sep or not top.strip():
        raise CaffememError(f"--input expects TOP=C,H,W (positive per-sample dims) or TOP=N,C,H,W! (the whole "
                            f"shape), got '{value}'")
    return top.strip(), parse_shape(dims)


def as_inputs(inputs: Mapping[str, Sequence[int] | str] | None) -> dict[str, Shape]:
    """Shapes as the library takes them: tuples, lists, ``WholeShape``s or ``--input`` strings ("300,5!")."""
    out: dict[str, Shape] = {}
    for top, value in (inputs or {}).items():
        if isinstance(value, str):
            out[top] = parse_shape(value)
        elif isinstance(value, WholeShape):
            out[top] = value
        else:
            dims = tuple(int(d) for d in value)
            if not dims or any(d <= 0 for d in dims):
                raise CaffememError(f"input '{top}': a shape needs positive dims, got {list(value)}")
            out[top] = dims
    return out


def build_options(batch: int | None = None, inputs: Mapping[str, Sequence[int] | str] | None = None) -> BuildOptions:
    """The options for the net builder: whole shapes are also given per sample (batch dropped), so data
    layers set up as usual; the builder then gives those tops their whole shape."""
    given = as_inputs(inputs)
    per_sample = {top: tuple(s[1:]) if isinstance(s, WholeShape) else s for top, s in given.items()}
    whole = {top: tuple(s) for top, s in given.items() if isinstance(s, WholeShape)}
    return BuildOptions(batch=batch, inputs=per_sample, whole_inputs=whole)
