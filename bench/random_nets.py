"""Development only: seeded random valid Caffe nets, to check caffemem on nets it was not tuned on.

usage: python bench/random_nets.py OUTDIR SEED [COUNT] [--more]

Writes OUTDIR/rnd-SEED-K/{net,solver}.prototxt: a DummyData input, a random chain of common layers
(convolution, pooling, BatchNorm+Scale, ReLU/Sigmoid/TanH, Dropout, LRN, Eltwise and Concat
branches, Deconvolution, InnerProduct), a SoftmaxWithLoss, sometimes an Accuracy and a TEST net,
and a random solver (type, snapshot). Run each with bench/run_caffe.sh and compare with
``caffemem check DIR/solver.prototxt --mode cpu``.

``--more`` (a separate random stream, so the nets of a seed without it stay the same) adds: LSTM and
RNN nets (static input, exposed hidden states, two stacked), frozen (``lr_mult: 0``) and shared
(named) parameters, ``propagate_down: false``, layers with phase rules, ``iter_size`` and AdaGrad.
"""
import os
import random
import sys


def net(rng: random.Random, name: str, more: random.Random | None = None) -> tuple[str, bool]:
    if more is not None and more.random() < 0.35:
        return recurrent_net(more, name)
    n, c, h = rng.randint(1, 8), rng.choice([1, 3, 4, 8]), rng.choice([8, 16, 24, 32, 48, 64])
    test = rng.random() < 0.4
    out = [f'name: "{name}"']
    for phase, batch in (("TRAIN", n), ("TEST", rng.randint(1, 8))) if test else (("TRAIN", n),):
        rule = f" include {{ phase: {phase} }}" if test else ""
        out.append(f'layer {{ name: "data" type: "DummyData" top: "data" top: "label"{rule} dummy_data_param {{ '
                   f'shape {{ dim: {batch} dim: {c} dim: {h} dim: {h} }} shape {{ dim: {batch} }} '
                   f'data_filler {{ type: "gaussian" std: 1 }} data_filler {{ type: "constant" }} }} }}')
    top, ch, size, k = "data", c, h, 0

    def conv(kind: str = "Convolution") -> None:
        nonlocal top, ch, size, k
        ks = rng.choice([1, 3, 3, 5]) if size >= 5 else 1
        stride = rng.choice([1, 1, 2]) if kind == "Convolution" else rng.choice([1, 2])
        pad = rng.choice([0, ks // 2])
        num = rng.choice([4, 8, 16, 32])
        k += 1
        name = f"{kind.lower()[:4]}{k}"
        extra = ""
        if more is not None:
            if more.random() < 0.15:
                extra += " propagate_down: false"
            if more.random() < 0.2:
                extra += " param { lr_mult: 0 } param { lr_mult: 0 }"
        out.append(f'layer {{ name: "{name}" type: "{kind}" bottom: "{top}" top: "{name}"{extra} convolution_param {{ '
                   f'num_output: {num} kernel_size: {ks} stride: {stride} pad: {pad} '
                   f'weight_filler {{ type: "gaussian" std: 0.01 }} }} }}')
        size = (size + 2 * pad - ks) // stride + 1 if kind == "Convolution" else stride * (size - 1) + ks - 2 * pad
        top, ch = name, num

    for _ in range(rng.randint(2, 10)):
        k += 1
        if more is not None and more.random() < 0.15:  # an in-place layer under a phase rule
            rule = more.choice(["include { phase: TRAIN }", "include { phase: TEST }", "exclude { phase: TEST }"])
            t = more.choice(["ReLU", "Dropout", "TanH"])
            out.append(f'layer {{ name: "ph{k}" type: "{t}" bottom: "{top}" top: "{top}" {rule} }}')
        r = rng.random()
        if r < 0.3 or size < 2:
            if size >= 2 or r < 0.3:
                conv()
        elif r < 0.4:
            p = rng.choice(["MAX", "AVE"])
            ks, s = rng.choice([2, 3]), rng.choice([1, 2])
            if size > ks:
                out.append(f'layer {{ name: "pool{k}" type: "Pooling" bottom: "{top}" top: "pool{k}" pooling_param '
                           f'{{ pool: {p} kernel_size: {ks} stride: {s} }} }}')
                top = f"pool{k}"
                size = -(-(size - ks) // s) + 1
        elif r < 0.5:
            out.append(f'layer {{ name: "bn{k}" type: "BatchNorm" bottom: "{top}" top: "{top}" }}')
            out.append(f'layer {{ name: "sc{k}" type: "Scale" bottom: "{top}" top: "{top}" '
                       f'scale_param {{ bias_term: true }} }}')
        elif r < 0.62:
            t = rng.choice(["ReLU", "ReLU", "Sigmoid", "TanH"])
            inplace = rng.random() < 0.7
            dst = top if inplace else f"act{k}"
            out.append(f'layer {{ name: "act{k}" type: "{t}" bottom: "{top}" top: "{dst}" }}')
            top = dst
        elif r < 0.68:
            out.append(f'layer {{ name: "drop{k}" type: "Dropout" bottom: "{top}" top: "{top}" }}')
        elif r < 0.73:
            out.append(f'layer {{ name: "lrn{k}" type: "LRN" bottom: "{top}" top: "lrn{k}" lrn_param '
                       f'{{ local_size: 3 }} }}')
            top = f"lrn{k}"
        elif r < 0.83:  # a residual or concatenated branch
            src = top
            out.append(f'layer {{ name: "br{k}" type: "Convolution" bottom: "{src}" top: "br{k}" convolution_param '
                       f'{{ num_output: {ch} kernel_size: 3 pad: 1 '
                       f'weight_filler {{ type: "gaussian" std: 0.01 }} }} }}')
            if more is not None and more.random() < 0.4:  # a second branch conv sharing br's parameters
                first = out[-1].replace(' convolution_param', f' param {{ name: "w{k}" }} param {{ name: "b{k}" }} '
                                        'convolution_param', 1)
                out[-1] = first.replace(f'"br{k}"', f'"br{k}a"')
                out.append(first.replace(f'name: "br{k}"', f'name: "br{k}s"').replace(f'bottom: "{src}"',
                                                                                    f'bottom: "br{k}a"', 1))
            if rng.random() < 0.5:
                out.append(f'layer {{ name: "sum{k}" type: "Eltwise" bottom: "{src}" bottom: "br{k}" top: "sum{k}" }}')
            else:
                out.append(f'layer {{ name: "sum{k}" type: "Concat" bottom: "{src}" bottom: "br{k}" top: "sum{k}" }}')
                ch *= 2
            top = f"sum{k}"
        elif r < 0.88 and size <= 32:
            conv("Deconvolution")
        else:
            conv()
    out.append(f'layer {{ name: "fc" type: "InnerProduct" bottom: "{top}" top: "fc" inner_product_param {{ '
               f'num_output: {rng.choice([10, 100, 500])} weight_filler {{ type: "gaussian" std: 0.01 }} }} }}')
    out.append('layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }')
    if test:
        out.append('layer { name: "acc" type: "Accuracy" bottom: "fc" bottom: "label" top: "acc" '
                   'include { phase: TEST } }')
    return "\n".join(out) + "\n", test


def fields(key: str, names: list[str]) -> str:
    return " ".join(f'{key}: "{x}"' for x in names)


def recurrent_net(rng: random.Random, name: str) -> tuple[str, bool]:
    """An LSTM or RNN (sometimes two stacked, a static input, exposed hidden states), then a classifier."""
    t, n = rng.choice([1, 2, 5, 10, 20, 50, 100]), rng.choice([1, 2, 4, 8, 16, 32])
    d = rng.choice([4, 16, 64, 256])
    kind = rng.choice(["LSTM", "RNN"])
    h = rng.choice([8, 32, 64, 128, 256, 512])
    static = rng.random() < 0.3
    expose = rng.random() < 0.25
    test = rng.random() < 0.3
    states = (2 if kind == "LSTM" else 1) if expose else 0
    shapes = [f"shape {{ dim: {t} dim: {n} dim: {d} }}"] + [f"shape {{ dim: {t} dim: {n} }}"] * 2
    fills = ['data_filler { type: "gaussian" std: 1 }', 'data_filler { type: "constant" value: 1 }',
             'data_filler { type: "constant" }']
    tops = ["data", "cont", "label"]
    if static:
        shapes.append(f"shape {{ dim: {n} dim: {rng.choice([3, 16, 100])} }}")
        fills.append('data_filler { type: "gaussian" std: 1 }')
        tops.append("static")
    for j in range(states):
        shapes.append(f"shape {{ dim: 1 dim: {n} dim: {h} }}")
        fills.append('data_filler { type: "constant" }')
        tops.append(f"h0_{j}")
    out = [f'name: "{name}"']
    for phase in ("TRAIN", "TEST") if test else ("",):
        rule = f" include {{ phase: {phase} }}" if phase else ""
        out.append(f'layer {{ name: "data" type: "DummyData" {fields("top", tops)}{rule} '
                   f'dummy_data_param {{ {" ".join(shapes)} {" ".join(fills)} }} }}')
    bottoms = ["data", "cont"] + (["static"] if static else []) + [f"h0_{j}" for j in range(states)]
    extra_tops = "".join(f' top: "hT_{j}"' for j in range(states))
    pd = ""
    if rng.random() < 0.2:
        pd = "".join(" propagate_down: " + ("false" if b == "cont" or rng.random() < 0.5 else "true")
                     for b in bottoms)
    frozen = " param { lr_mult: 0 } param { lr_mult: 0 }" if rng.random() < 0.15 else ""
    out.append(f'layer {{ name: "rnn1" type: "{kind}" {fields("bottom", bottoms)} '
               f'top: "rnn1"{extra_tops}{pd}{frozen} recurrent_param {{ num_output: {h}'
               f'{" expose_hidden: true" if expose else ""} '
               f'weight_filler {{ type: "uniform" min: -0.08 max: 0.08 }} }} }}')
    top = "rnn1"
    if expose:
        out.append(f'layer {{ name: "sil" type: "Silence" {fields("bottom", [f"hT_{j}" for j in range(states)])} }}')
    if rng.random() < 0.3:
        h2 = rng.choice([8, 32, 128])
        out.append(f'layer {{ name: "rnn2" type: "{rng.choice(["LSTM", "RNN"])}" bottom: "rnn1" bottom: "cont" '
                   f'top: "rnn2" recurrent_param {{ num_output: {h2} '
                   f'weight_filler {{ type: "uniform" min: -0.08 max: 0.08 }} }} }}')
        top = "rnn2"
    if rng.random() < 0.3:
        out.append(f'layer {{ name: "drop" type: "Dropout" bottom: "{top}" top: "{top}" }}')
    out.append(f'layer {{ name: "fc" type: "InnerProduct" bottom: "{top}" top: "fc" inner_product_param {{ '
               f'num_output: {rng.choice([10, 100])} axis: 2 weight_filler {{ type: "gaussian" std: 0.01 }} }} }}')
    out.append('layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" '
               'softmax_param { axis: 2 } }')
    if test:
        out.append('layer { name: "acc" type: "Accuracy" bottom: "fc" bottom: "label" top: "acc" accuracy_param '
                   '{ axis: 2 } include { phase: TEST } }')
    return "\n".join(out) + "\n", test


def solver(rng: random.Random, test: bool, more: random.Random | None = None) -> str:
    lines = ['net: "net.prototxt"', "base_lr: 1e-07", 'lr_policy: "fixed"', "max_iter: 2", "display: 1",
             "solver_mode: CPU", f'type: "{rng.choice(["SGD", "SGD", "Nesterov", "Adam", "AdaDelta", "RMSProp"])}"',
             f"snapshot_after_train: {'true' if rng.random() < 0.3 else 'false'}", 'snapshot_prefix: "snap"']
    if more is not None:
        if more.random() < 0.2:
            lines[6] = 'type: "AdaGrad"'
        if more.random() < 0.3:
            lines.append(f"iter_size: {more.choice([2, 3])}")
    if test:
        lines += ["test_iter: 1", "test_interval: 1000", "test_initialization: true"]
    return "\n".join(lines) + "\n"


def main() -> None:
    outdir, seed = sys.argv[1], int(sys.argv[2])
    args = [a for a in sys.argv[3:] if a != "--more"]
    count = int(args[0]) if args else 1
    for i in range(count):
        rng = random.Random(seed * 1000 + i)
        more = random.Random(seed * 1000 + i + 10**6) if "--more" in sys.argv else None
        d = os.path.join(outdir, f"rnd-{seed}-{i}")
        os.makedirs(d, exist_ok=True)
        text, test = net(rng, f"rnd{seed}_{i}", more)
        with open(os.path.join(d, "net.prototxt"), "w") as f:
            f.write(text)
        with open(os.path.join(d, "solver.prototxt"), "w") as f:
            f.write(solver(rng, test, more))
        print(d)


if __name__ == "__main__":
    main()
