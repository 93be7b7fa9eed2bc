"""Development only: seeded random valid Caffe nets, to check caffemem on nets it was not tuned on.

usage: python bench/random_nets.py OUTDIR SEED [COUNT]

Writes OUTDIR/rnd-SEED-K/{net,solver}.prototxt: a DummyData input, a random chain of common layers
(convolution, pooling, BatchNorm+Scale, ReLU/Sigmoid/TanH, Dropout, LRN, Eltwise and Concat
branches, Deconvolution, InnerProduct), a SoftmaxWithLoss, sometimes an Accuracy and a TEST net,
and a random solver (type, snapshot). Run each with bench/run_caffe.sh and compare with
``caffemem check DIR/solver.prototxt --mode cpu``.
"""
import os
import random
import sys


def net(rng: random.Random, name: str) -> tuple[str, bool]:
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
        out.append(f'layer {{ name: "{name}" type: "{kind}" bottom: "{top}" top: "{name}" convolution_param {{ '
                   f'num_output: {num} kernel_size: {ks} stride: {stride} pad: {pad} '
                   f'weight_filler {{ type: "gaussian" std: 0.01 }} }} }}')
        size = (size + 2 * pad - ks) // stride + 1 if kind == "Convolution" else stride * (size - 1) + ks - 2 * pad
        top, ch = name, num

    for _ in range(rng.randint(2, 10)):
        k += 1
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


def solver(rng: random.Random, test: bool) -> str:
    lines = ['net: "net.prototxt"', "base_lr: 1e-07", 'lr_policy: "fixed"', "max_iter: 2", "display: 1",
             "solver_mode: CPU", f'type: "{rng.choice(["SGD", "SGD", "Nesterov", "Adam", "AdaDelta", "RMSProp"])}"',
             f"snapshot_after_train: {'true' if rng.random() < 0.3 else 'false'}", 'snapshot_prefix: "snap"']
    if test:
        lines += ["test_iter: 1", "test_interval: 1000", "test_initialization: true"]
    return "\n".join(lines) + "\n"


def main() -> None:
    outdir, seed = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    for i in range(count):
        rng = random.Random(seed * 1000 + i)
        d = os.path.join(outdir, f"rnd-{seed}-{i}")
        os.makedirs(d, exist_ok=True)
        text, test = net(rng, f"rnd{seed}_{i}")
        with open(os.path.join(d, "net.prototxt"), "w") as f:
            f.write(text)
        with open(os.path.join(d, "solver.prototxt"), "w") as f:
            f.write(solver(rng, test))
        print(d)


if __name__ == "__main__":
    main()
