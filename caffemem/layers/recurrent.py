"""Recurrent layers: LSTM and RNN (Caffe's ``RecurrentLayer``), LSTMUnit, and LSTM-CF's Mask (the
continuation blob an LSTM reads).

Caffe builds an LSTM or RNN by unrolling it into a whole inner ``Net`` at set-up. That inner net
logs its own "Memory required for data" line, and the outer net's figure counts only the outer
tops, which share storage with the inner output blob. So :meth:`RecurrentBase.reshape` returns the
outer tops alone, and the inner net's activations are recorded separately on the layer as
``inner_activation_count`` for the memory model.
"""

from __future__ import annotations

from caffemem.layers.registry import INTERNAL, Buffer, Layer, RunInfo, SetupContext, Shape, count, register
from caffemem.proto import caffe_pb2


class RecurrentBase(Layer):
    """Shapes, blob counts and parameters shared by LSTM and RNN.

    Bottoms: ``x [T, N, ...]``, ``cont [T, N]``, optionally ``x_static [N, ...]``, and with
    ``expose_hidden`` the initial recurrent states ``[1, N, H]``. Tops: the output ``[T, N, H]``
    and, with ``expose_hidden``, the final recurrent states ``[1, N, H]``.
    """

    #: names of the recurrent states (inputs h_0..., outputs h_T...) as the unrolled net has them
    recurrent_states: tuple[str, ...] = ()
    #: gate multiplier: LSTM's input transform yields 4 gates per hidden unit, RNN's one
    gates = 1

    def __init__(self, param: caffe_pb2.LayerParameter, ctx: SetupContext) -> None:
        super().__init__(param, ctx)
        exposed = len(self.recurrent_states) if param.recurrent_param.expose_hidden else 0
        self.exposed = exposed
        self.min_bottoms = 2 + exposed  # type: ignore[misc]
        self.max_bottoms = 3 + exposed  # type: ignore[misc]
        self.exact_tops = 1 + exposed  # type: ignore[misc]
        self.inner_activation_count = 0

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index != 1  # cont is an indicator, never differentiated

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        x, cont = bottoms[0], bottoms[1]
        if len(x) < 2:
            raise self.fail(f"bottom[0] must have at least 2 axes -- (#timesteps, #streams, ...); got {x}")
        t, n = x[0], x[1]
        if len(cont) != 2:
            raise self.fail(f"bottom[1] must have exactly 2 axes -- (#timesteps, #streams); got {cont}")
        if cont != (t, n):
            raise self.fail(f"cont {cont} must be [T, N] = [{t}, {n}] like x {x}")
        static = len(bottoms) > 2 + self.exposed
        x_static = bottoms[2] if static else None
        if x_static is not None and (len(x_static) < 1 or x_static[0] != n):
            raise self.fail(f"x_static {x_static} must have N = {n} as its first axis")
        h = self.param.recurrent_param.num_output
        if h <= 0:
            raise self.fail("num_output must be positive")
        state: Shape = (1, n, h)
        for j, b in enumerate(bottoms[2 + int(static):]):
            if b != state:
                raise self.fail(f"shape mismatch - recurrent input {j} is {state} vs. bottom {b}")
        d = count(x[2:])
        ds = count(x_static[1:]) if x_static is not None else 0
        self.blobs = self.param_shapes(h, d, ds if static else None)
        self.inner_activation_count = self.inner_count(t, n, h, count(x), ds if static else None,
                                                       count(x_static) if x_static is not None else 0)
        self.T, self.N, self.H = t, n, h
        return [(t, n, h)] + [state] * self.exposed

    def param_shapes(self, h: int, d: int, ds: int | None) -> list[Shape]:
        raise NotImplementedError

    # memory: the outer tops are views of the unrolled net's blobs, which hold everything
    def top_data_view(self, top_index: int) -> int | None:
        return INTERNAL

    def top_diff_view(self, top_index: int) -> int | None:
        return INTERNAL

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """[estimate] The unrolled net's blobs: every timestep's data, and in training its diffs."""
        out = [Buffer("unrolled_net", self.inner_activation_count, "fwd", category="activations")]
        out.append(Buffer("unrolled_net", self.inner_activation_count, "bwd", diff=True,
                          category="activation_gradients"))
        return out

    def inner_count(self, t: int, n: int, h: int, x_count: int, ds: int | None, xs_count: int) -> int:
        raise NotImplementedError


@register("LSTM")
class LSTMLayer(RecurrentBase):
    """Long short-term memory; parameters ``W_xc [4H, D]``, ``b_c [4H]``, [``W_xc_static [4H, Ds]``],
    ``W_hc [4H, H]`` (D = x.count(2), Ds = x_static.count(1))."""

    recurrent_states = ("h", "c")
    gates = 4

    def param_shapes(self, h: int, d: int, ds: int | None) -> list[Shape]:
        shapes: list[Shape] = [(4 * h, d), (4 * h,)]
        if ds is not None:
            shapes.append((4 * h, ds))
        return shapes + [(4 * h, h)]

    def inner_count(self, t: int, n: int, h: int, x_count: int, ds: int | None, xs_count: int) -> int:
        """Elements of the unrolled net's tops (its own "Memory required for data", in elements).

        Approximate: it follows the unrolled net's layer list (inputs x, cont, [x_static], h_0,
        c_0; W_xc_x and its per-step slices; per step cont_t, h_conted, W_hc_h, gate_input, c_t,
        h_t; the splits Caffe inserts for cont_t, h_t (t < T) and x_static's transform; the h
        concat, the c_T copy and the scalar pseudo-loss) without building the inner net.
        """
        nh = n * h
        total = x_count + t * n + xs_count + 2 * nh  # Input layers: x, cont, [x_static], h_0, c_0
        total += t * 4 * nh  # W_xc_x
        if ds is not None:
            total += 2 * 4 * nh + (t * 4 * nh if t > 1 else 0)  # preshape, reshape, split per step
        per_step = n + 4 * nh + nh + 4 * nh + 4 * nh + nh + nh  # cont_t, W_xc_x_t, h_conted, ...
        per_step += 2 * n  # cont_t split (h_conted and the unit read it)
        total += t * per_step + (t - 1) * 2 * nh  # h_t split for t < T (next step and the concat)
        total += t * nh + nh + 1  # h concat, c_T copy, pseudo-loss
        return total


@register("RNN")
class RNNLayer(RecurrentBase):
    """Elman RNN; parameters ``W_xh [H, D]``, ``b_h [H]``, [``W_xh_static [H, Ds]``], ``W_hh [H, H]``,
    ``W_ho [H, H]``, ``b_o [H]``."""

    recurrent_states = ("h",)

    def param_shapes(self, h: int, d: int, ds: int | None) -> list[Shape]:
        shapes: list[Shape] = [(h, d), (h,)]
        if ds is not None:
            shapes.append((h, ds))
        return shapes + [(h, h), (h, h), (h,)]

    def inner_count(self, t: int, n: int, h: int, x_count: int, ds: int | None, xs_count: int) -> int:
        """Elements of the unrolled net's tops; approximate in the same way as LSTM's: inputs, the
        W_xh_x transform and slices, per step cont_t, h_conted, W_hh_h, h_neuron_input, h_t,
        W_ho_h_t, o_t, the h_t splits for t < T, the o concat and the pseudo-loss."""
        nh = n * h
        total = x_count + t * n + xs_count + nh  # x, cont, [x_static], h_0
        total += t * nh  # W_xh_x
        if ds is not None:
            total += 2 * nh + (t * nh if t > 1 else 0)
        per_step = n + 7 * nh  # cont_t, W_xh_x_t, h_conted, W_hh_h, h_neuron_input, h_t, W_ho_h_t, o_t
        total += t * per_step + (t - 1) * 2 * nh
        total += t * nh + 1  # o concat, pseudo-loss
        return total


@register("LSTMUnit")
class LSTMUnitLayer(Layer):
    """One LSTM step: bottoms ``c_prev [1, N, H]``, gates ``[1, N, 4H]``, ``cont [1, N]``; tops ``c``
    and ``h`` shaped like ``c_prev``."""

    exact_bottoms = 3
    exact_tops = 2

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index != 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        c_prev, gates, cont = bottoms
        if len(c_prev) != 3 or c_prev[0] != 1:
            raise self.fail(f"c_prev must be [1, N, H], got {c_prev}")
        _, n, h = c_prev
        if len(gates) != 3 or gates[0] != 1 or gates[1] != n or gates[2] != 4 * h:
            raise self.fail(f"gate input must be [1, {n}, {4 * h}], got {gates}")
        if len(cont) != 2 or cont != (1, n):
            raise self.fail(f"cont must be [1, {n}], got {cont}")
        return [c_prev, c_prev]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        gates = count(bottoms[1])
        return [Buffer("X_acts", gates, "fwd"), Buffer("X_acts", gates, "bwd", diff=True)]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return bottom_index < 2 and any(run.propagate_down[:2])


# --- recurrent helpers (forks) --------------------------------------------------------------------

@register("Mask")
class MaskLayer(Layer):
    """LSTM-CF's sequence-continuation mask: no bottoms, a [height, width] top (LSTM's ``cont``)."""

    exact_bottoms = 0
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        mp = self.param.mask_param
        return [(mp.height, mp.width)]

