"""Recurrent layers: LSTM and RNN (Caffe's ``RecurrentLayer``), LSTMUnit, and LSTM-CF's Mask (the
continuation blob an LSTM reads).

Caffe builds an LSTM or RNN by unrolling it into a whole inner ``Net`` at set-up. That inner net
logs its own "Memory required for data" line, and the outer net's figure counts only the outer
tops, which share storage with the inner output blob. So :meth:`RecurrentBase.reshape` returns the
outer tops alone, and the inner net's activations are recorded separately on the layer as
``inner_activation_count`` for the memory model.
"""

from __future__ import annotations

from caffemem.layers.registry import INTERNAL, Buffer, Layer, RunInfo, SetupContext, Shape, count, legacy, register
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
        """[measured] What the unrolled net's blobs hold: of its tops (``inner_activation_count``),
        the data Caffe writes every forward and, in training, the diffs its backward touches.

        Not resident, data: the inputs ``x``, ``cont``, ``x_static`` share the outer bottoms' data
        (and, with ``expose_hidden``, the initial states theirs); the Split tops (``h_t`` for t < T,
        LSTM's ``cont_t`` and ``c_T`` copy, the static transform's per-step copies) and the static
        transform's Reshape share their bottom's data; the pseudo-loss never runs (the net runs to
        ``last_layer_index_``). Diffs: ``x`` and ``x_static`` share the outer bottoms' diffs (counted
        there: ``writes_bottom_diff``); no layer that needs backward reads or writes the diffs of
        ``cont``, its slices and splits, ``h_0`` or ``h_conted_0`` (their producers are Input,
        Slice, Split and a Scale of two inputs, none of which needs backward); the Reshape shares
        its bottom's diff.
        """
        t, n, nh, g = self.T, self.N, self.N * self.H, self.gates
        static = len(bottoms) > 2 + self.exposed
        inputs = count(bottoms[0]) + t * n + (count(bottoms[2]) if static else 0)
        lstm = len(self.recurrent_states) == 2
        views = (t - 1) * 2 * nh + ((2 * t * n + nh) if lstm else 0)
        if static:
            views += g * nh + (t * g * nh if t > 1 else 0)
        states = len(self.recurrent_states) * nh if self.exposed else 0
        data = self.inner_activation_count - inputs - states - views - 1
        untouched = t * n + (2 * t * n if lstm else 0) + 2 * nh + (g * nh if static else 0)
        diff = self.inner_activation_count - inputs - untouched
        # [measured] Every timestep's layers create and fill their own copies of the recurrent
        # weights (W_hc; RNN: W_hh, W_ho, b_o); the unrolled Net::Init shares them with the first
        # step's (ShareWeights, which frees the copies) only at its end, so all T - 1 copies are
        # resident together while the layer sets up.
        copies = (t - 1) * self.shared_step_params()
        # The pseudo-loss (a Reduction SUM of the output, never run) fills its sum multiplier,
        # one element per output element, when it is reshaped.
        return [Buffer("unrolled_copies", copies, "init"),
                Buffer("pseudoloss_multiplier", t * nh, "setup"),
                Buffer("unrolled_net", data, "fwd", category="activations"),
                Buffer("unrolled_net", diff, "bwd", diff=True, category="activation_gradients")]

    def shared_step_params(self) -> int:
        """Elements of the parameters each further timestep's layers share with the first step's."""
        h = self.H
        return 4 * h * h if len(self.recurrent_states) == 2 else 2 * h * h + h

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """The unrolled net's input transforms propagate down unconditionally, whatever the outer
        net's ``propagate_down`` (Backward runs the whole unrolled net): ``x`` and ``x_static`` get
        their diffs; ``cont`` and the exposed initial states never do."""
        static = len(run.propagate_down) > 2 + self.exposed
        return bottom_index == 0 or (static and bottom_index == 2)

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
        """``X_acts`` (the gates' activations) is used by the GPU kernels only; the CPU code computes
        the gates on the fly."""
        if not run.gpu:
            return []
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



# --- CRF-as-RNN (torrvision/crfasrnn) ------------------------------------------------------------

#: Points of a permutohedral lattice per pixel, at most: each pixel splats onto d + 1 lattice
#: vertices, so a lattice over P pixels in d dimensions has at most (d + 1) P points. How many it
#: really has depends on the features (for the bilateral lattice: the image's colours).
def lattice_elements(dims: int, pixels: int) -> int:
    """4-byte elements a ``ModifiedPermutohedral`` keeps after ``init`` (the fork's non-SSE build):
    ``offset_``, ``rank_`` and ``barycentric_`` of (d + 1) P each, and ``blur_neighbors_`` of
    (d + 1) M pairs of ints, with M lattice points taken at their upper bound (d + 1) P."""
    fixed = 3 * (dims + 1) * pixels
    points = (dims + 1) * pixels  # [upper bound] depends on the data
    return fixed + 2 * (dims + 1) * points


@register("MultiStageMeanfield")
class MultiStageMeanfieldLayer(Layer):
    """CRF-as-RNN's mean-field inference (torrvision/crfasrnn's caffe submodule,
    ``src/caffe/layers/multi_stage_meanfield.cpp`` and ``meanfield_iteration.cpp``).

    Bottoms: unaries [N, C, H, W], the first softmax input (same shape) and the RGB image
    [N, 3, H, W]; the top has the unaries' shape. Learnable: spatial and bilateral kernel weights and
    the compatibility matrix, [1, 1, C, C] each (LayerSetUp reads ``spatial.par`` and
    ``bilateral.par`` from the working directory to fill them). ``num_iterations`` must exceed 1.

    Memory (E = N C H W, P = H W, T iterations). The layer keeps T - 1 iteration outputs (E each,
    gradients too in backward), an internal Split whose T tops share the unaries' data but each get
    an E gradient, ``spatial_norm_``/``norm_feed_`` [P], ``bilateral_kernel_buffer_`` [5 P] and
    ``bilateral_norms_`` [N P]. Each iteration holds ``prob_``, ``spatial_out_blob_``,
    ``bilateral_out_blob_``, ``message_passing_`` and ``pairwise_`` (E each, data in forward, gradients
    in backward), its copy of the three C x C parameters (and their gradients), and an internal
    Softmax's ``scale_`` [N P] and ``sum_multiplier_`` [C]. The permutohedral lattices (one spatial
    one over 2-D positions, one bilateral per image over 5-D position and colour) are
    [estimate]d at their upper bound (:func:`lattice_elements`): their size depends on the image.
    The fork has only a CPU implementation, so on GPU runs all of this is host memory; the filter
    passes' transient arrays (2 (M + 2) C floats per call) are not counted.
    """

    exact_bottoms = 3
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        mp = self.param.multi_stage_meanfield_param
        if mp.num_iterations <= 1:
            raise self.fail(f"Number of iterations must be greater than 1 (got {mp.num_iterations})")
        n, c, h, w = (legacy(bottoms[0], i) for i in range(4))
        if len(bottoms[0]) > 4:
            raise self.fail(f"cannot use legacy accessors on a {len(bottoms[0])}-D blob {bottoms[0]}")
        if count(bottoms[1]) != count(bottoms[0]):
            raise self.fail(f"the softmax input {bottoms[1]} must match the unaries {bottoms[0]}")
        rgb = bottoms[2]
        if legacy(rgb, 0) < n or count(rgb[1:]) < 3 * h * w:
            raise self.fail(f"the image {rgb} must hold 3 channels of {h}x{w} for each of {n} unaries")
        self.blobs = [(1, 1, c, c)] * 3
        self.dims = (n, c, h, w)
        self.ctx.warn(f"MultiStageMeanfield '{self.name}': permutohedral lattice memory depends on the "
                      "image; counted at its upper bound (d + 1 lattice points per pixel)")
        return [(n, c, h, w)]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        # The Split's backward writes the unaries' gradient and the first iteration's Softmax the
        # softmax input's, whatever propagate_down says; the image gets none.
        return bottom_index < 2

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n, c, h, w = self.dims
        iters = self.param.multi_stage_meanfield_param.num_iterations
        e, p = n * c * h * w, h * w
        return [
            Buffer("spatial_norm_and_feed", 2 * p, "setup"),
            Buffer("bilateral_kernel_buffer", 5 * p, "setup"),
            Buffer("spatial_lattice", lattice_elements(2, p), "setup"),
            Buffer("bilateral_norms", n * p, "fwd"),
            Buffer("bilateral_lattices", n * lattice_elements(5, p), "fwd"),
            Buffer("iteration_outputs", (iters - 1) * e, "fwd"),
            Buffer("iteration_outputs", (iters - 1) * e, "bwd", diff=True),
            Buffer("split_tops", iters * e, "bwd", diff=True),
            Buffer("iteration_blobs", iters * 5 * e, "fwd"),
            Buffer("iteration_blobs", iters * 5 * e, "bwd", diff=True),
            Buffer("iteration_params", iters * 3 * c * c, "fwd"),
            Buffer("iteration_params", iters * 3 * c * c, "bwd", diff=True),
            Buffer("softmax_scale", iters * n * p, "fwd"),
            Buffer("softmax_sum_multiplier", iters * c, "setup"),
        ]


# --- Junhyuk Oh's LSTM ("Lstm": junhyukoh/caffe-lstm, senlinuc/caffe_ocr) -------------------------

@register("Lstm")
class JunhyukLstmLayer(Layer):
    """Junhyuk Oh's single-layer LSTM, a hand-written layer (no unrolled net), as two forks build it.

    - senlinuc/caffe_ocr (``src/caffe/layers/lstm_layer_Junhyuk.cpp``/``.cu``, the file its project
      compiles): bottom ``x [T, N, I, ...]`` read through ``shape(0..2)`` (so x needs 3 axes and
      only axis 2 is the input size), top ``[T, N, H]``; ``lstm_param.batch_size`` is ignored.
    - junhyukoh/caffe-lstm (``src/caffe/layers/lstm_layer.cpp``): N is ``lstm_param.batch_size``,
      the bottom is ``[T*N, ...]`` (``I = count / num``; ``num`` must divide by N), top ``[T*N, H]``.

    A bottom of fewer than 3 axes, or an explicit ``batch_size``, means caffe-lstm's layer (the
    OCR fork's would fail its axis CHECK and ignores the field); otherwise the OCR fork's. An
    optional second bottom is the per-step continuation ("clip", one value per row).

    Parameters: ``W_x [4H, I]``, ``W_h [4H, H]``, ``b [4H]``. Internal blobs (E = T N H, S = N H),
    the same on CPU and GPU: ``bias_multiplier_`` [T N] filled in Reshape; in forward ``pre_gate_``
    and ``gate_`` [T, N, 4, H] each, ``cell_`` [T, N, H], ``c_0_``, ``h_0_``, ``c_T_``, ``h_T_`` [N, H]
    and ``h_to_gate_`` [N, 4, H]; in backward the diffs of ``pre_gate_``, ``gate_``, ``cell_``,
    ``c_T_`` (read as the carried-in cell gradient), ``h_0_`` and ``c_0_``, and ``h_to_h_``'s data
    [N, H]. ``top_`` shares the top's data and diff, so it costs nothing more.
    """

    min_bottoms = 1
    max_bottoms = 2
    exact_tops = 1

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index == 0  # the clip input is never differentiated

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        lp = self.param.lstm_param
        x = bottoms[0]
        h = lp.num_output
        if h <= 0:
            raise self.fail("lstm_param.num_output must be positive")
        if len(x) < 3 or lp.HasField("batch_size"):
            self.choose_variant("caffe-lstm variant ([T*N, ...] input, N = lstm_param.batch_size)")
            n = lp.batch_size
            num = legacy(x, 0)
            if n <= 0 or num % n:
                raise self.fail(f"Input size should be multiple of batch size ({num} rows, batch_size {n})")
            t = num // n
            i = count(x) // num if num else 0
            top: Shape = (t * n, h)
        else:
            self.choose_variant("caffe_ocr variant ([T, N, I] input)")
            t, n, i = x[0], x[1], x[2]
            top = (t, n, h)
        if len(bottoms) > 1 and count(bottoms[1]) != t * n:
            self.ctx.warn(f"layer '{self.name}' (Lstm): the clip input {bottoms[1]} should hold one value per "
                          f"(timestep, stream), {t * n}; the fork reads it unchecked")
        self.T, self.N, self.H = t, n, h
        self.blobs = [(4 * h, i), (4 * h, h), (4 * h,)]
        return [top]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        e, s = self.T * self.N * self.H, self.N * self.H
        return [Buffer("bias_multiplier", self.T * self.N, "setup"),
                Buffer("pre_gate_and_gate", 8 * e, "fwd"),
                Buffer("cell", e, "fwd"),
                Buffer("c_0_h_0_c_T_h_T", 4 * s, "fwd"),
                Buffer("h_to_gate", 4 * s, "fwd"),
                Buffer("pre_gate_and_gate", 8 * e, "bwd", diff=True),
                Buffer("cell", e, "bwd", diff=True),
                Buffer("c_T_h_0_c_0", 3 * s, "bwd", diff=True),
                Buffer("h_to_h", s, "bwd")]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return bottom_index == 0 and run.propagate_down[0]
