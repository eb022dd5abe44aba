#!/usr/bin/python3
"""Writes every reference file in this folder from PyTorch, in float64 (python3-torch).

    /usr/bin/python3 tests/reference/generate.py            rewrite the files here
    /usr/bin/python3 tests/reference/generate.py --check    recompute and compare, write nothing
    /usr/bin/python3 tests/reference/generate.py --out DIR  write them somewhere else

The cases are those in cases.json (one training step) and optim_cases.json (three steps of
each optimizer), plus the trajectories (20 steps of plain SGD, then of Adam). Each case's
inputs (batches, labels, starting weights) are kept from the file already there, so a rerun
recomputes the same case; a case with no file yet gets inputs drawn from a seeded generator.
README.md here says what each array means.
"""
import argparse
import json
import os
import sys

import numpy as np

try:
    import torch
except ImportError:  # ctest runs --check as a test; without PyTorch there is nothing to check against
    sys.exit(print("generate.py: skipped, PyTorch is not installed (apt-get install python3-torch)") or 77)

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)

# 20 steps of the training path itself: the seed network's shape, scaled down, on image-like
# inputs (bytes / 255, half of them zero, as the background of a digit is).
TRAJECTORIES = {
    "trajectory_sgd": {"sizes": [784, 64, 32, 10], "batch": 16, "steps": 20,
                       "optimizer": {"name": "sgd", "lr": 0.1}},
    "trajectory_adam": {"sizes": [784, 64, 32, 10], "batch": 16, "steps": 20,
                        "optimizer": {"name": "adam", "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8}},
}


def draw_inputs(sizes, batch, gen, images=False):
    """Weights (out, in), biases, a batch and its labels, from the seeded generator. Images are
    bytes, half of them 0 (uint8; the network reads them / 255)."""
    if images:
        x = torch.randint(0, 256, (batch, sizes[0]), generator=gen, dtype=torch.uint8)
        x[torch.rand(batch, sizes[0], generator=gen) < 0.5] = 0
    else:
        x = torch.rand(batch, sizes[0], generator=gen)
    y = torch.randint(0, sizes[-1], (batch,), generator=gen)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append((torch.randn(fan_out, fan_in, generator=gen) * (2 / fan_in) ** 0.5,
                       torch.randn(fan_out, generator=gen) * 0.1))
    return x, y, params


def forward(x, params, activation):
    """The logits: every layer, the hidden ones through the activation."""
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[activation]
    a = x
    for i, (w, b) in enumerate(params):
        z = a @ w.T + b
        a = act(z) if i + 1 < len(params) else z
    logits = a
    return logits


def loss_of(logits, y, loss_name):
    if loss_name == "ce":
        return torch.softmax(logits, 1), torch.nn.functional.cross_entropy(logits, y)
    out = torch.sigmoid(logits)
    onehot = torch.nn.functional.one_hot(y, logits.shape[1]).double()
    return out, ((out - onehot) ** 2).sum(1).mean()


def one_step_case(case, inputs):
    """Forward, loss, gradients and one plain SGD step (cases.json)."""
    x, y, params = inputs
    params = [(w.clone().requires_grad_(), b.clone().requires_grad_()) for w, b in params]
    logits = forward(x, params, case["hidden_activation"])
    output, loss = loss_of(logits, y, case["loss"])
    loss.backward()
    out = {"x": x, "y": y, "logits": logits, "output": output, "loss": loss}
    for i, (w, b) in enumerate(params, 1):
        out[f"w{i}"], out[f"b{i}"], out[f"dw{i}"], out[f"db{i}"] = w, b, w.grad, b.grad
        out[f"w{i}_after_sgd"] = w - case["lr"] * w.grad
        out[f"b{i}_after_sgd"] = b - case["lr"] * b.grad
    return out


def make_optimizer(spec, tensors):
    spec = dict(spec)
    name = spec.pop("name", None)
    if name == "adam":
        return torch.optim.Adam(tensors, **spec)
    if name == "adamw":
        return torch.optim.AdamW(tensors, **spec)
    return torch.optim.SGD(tensors, **spec)


def steps_case(sizes, spec, batches, params, losses=None):
    """The parameters after each step of `spec` on the batches, and the loss before each step."""
    params = [(w.clone().requires_grad_(), b.clone().requires_grad_()) for w, b in params]
    opt = make_optimizer(spec, [t for p in params for t in p])
    after, seen = [], []
    for x, y in batches:
        opt.zero_grad()
        _, loss = loss_of(forward(x, params, "relu"), y, "ce")
        loss.backward()
        opt.step()
        seen.append(loss.item())
        after.append([(w.detach().clone(), b.detach().clone()) for w, b in params])
    return after, seen


def optim_name_spec(name, settings):
    """optim_cases.json uses PyTorch's argument names; 'adam'/'adamw' name their class."""
    spec = dict(settings)
    if name.startswith("adam"):
        spec["name"] = "adamw" if name == "adamw" else "adam"
    return spec


def existing(path):
    return dict(np.load(path)) if os.path.exists(path) else None


def tensors(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def build(out_dir):
    """Every reference array, by file name."""
    gen = torch.Generator().manual_seed(20261128)
    files = {}
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    for name, case in cases.items():
        old = existing(os.path.join(HERE, name + ".npz"))
        depth = len(case["sizes"]) - 1
        if old:
            inputs = (tensors(old["x"]), tensors(old["y"]),
                      [(tensors(old[f"w{i}"]), tensors(old[f"b{i}"])) for i in range(1, depth + 1)])
        else:
            inputs = draw_inputs(case["sizes"], case["batch"], gen)
        arrays = one_step_case(case, inputs)
        order = ["x", "y", "logits", "output", "loss"] + [
            f"{k}{i}{s}" for i in range(1, depth + 1) for k, s in
            (("w", ""), ("b", ""), ("dw", ""), ("db", ""), ("w", "_after_sgd"), ("b", "_after_sgd"))]
        files[name + ".npz"] = [(k, arrays[k]) for k in order]
    files["relu_ce_64_32_10_compressed.npz"] = files["relu_ce_64_32_10.npz"]

    with open(os.path.join(HERE, "optim_cases.json")) as f:
        optim_cases = json.load(f)
    sizes = [64, 32, 10]
    for name, settings in optim_cases.items():
        old = existing(os.path.join(HERE, f"optim_{name}.npz"))
        if old:
            params = [(tensors(old[f"w{i}"]), tensors(old[f"b{i}"])) for i in (1, 2)]
            batches = [(tensors(old[f"x_step{s}"]), tensors(old[f"y_step{s}"])) for s in (1, 2, 3)]
        else:
            _, _, params = draw_inputs(sizes, 16, gen)
            batches = [draw_inputs(sizes, 16, gen)[:2] for _ in range(3)]
        after, _ = steps_case(sizes, optim_name_spec(name, settings), batches, params)
        arrays = [(f"{k}{i}", t) for i, (w, b) in enumerate(params, 1) for k, t in (("w", w), ("b", b))]
        for s, ((x, y), step) in enumerate(zip(batches, after), 1):
            arrays += [(f"x_step{s}", x), (f"y_step{s}", y)]
            arrays += [(f"{k}{i}_step{s}", t) for i, (w, b) in enumerate(step, 1) for k, t in (("w", w), ("b", b))]
        files[f"optim_{name}.npz"] = arrays

    for name, t in TRAJECTORIES.items():
        old = existing(os.path.join(HERE, name + ".npz"))
        depth = len(t["sizes"]) - 1
        if old:
            params = [(tensors(old[f"w{i}"]), tensors(old[f"b{i}"])) for i in range(1, depth + 1)]
            pixels, y_all = tensors(old["pixels"]), tensors(old["y"])
        else:
            pixels, y_all, params = draw_inputs(t["sizes"], t["batch"] * t["steps"], gen, images=True)
        x_all = pixels.double() / 255
        batches = [(x_all[s * t["batch"]:(s + 1) * t["batch"]], y_all[s * t["batch"]:(s + 1) * t["batch"]])
                   for s in range(t["steps"])]
        after, losses = steps_case(t["sizes"], t["optimizer"], batches, params)
        arrays = [("pixels", pixels), ("y", y_all), ("losses", torch.tensor(losses))]
        arrays += [(f"{k}{i}", v) for i, (w, b) in enumerate(params, 1) for k, v in (("w", w), ("b", b))]
        arrays += [(f"{k}{i}_final", v) for i, (w, b) in enumerate(after[-1], 1) for k, v in (("w", w), ("b", b))]
        files[name + ".npz"] = arrays
    files["batch_norm.npz"] = batch_norm_case(existing(os.path.join(HERE, "batch_norm.npz")), gen)
    files["average.npz"] = average_case(existing(os.path.join(HERE, "average.npz")), gen)
    return files


def batch_norm_case(old, gen):
    """A 30-16-12-10 ReLU network with BatchNorm1d after each hidden product (training mode):
    forward, loss, every gradient, the running statistics after the step (momentum 0.1), one
    SGD step, and the output in evaluation mode after it."""
    sizes, batch, lr = [30, 16, 12, 10], 8, 0.1
    if old:
        x, y = tensors(old["x"]), tensors(old["y"])
        params = [(tensors(old[f"w{i}"]), tensors(old[f"b{i}"])) for i in (1, 2, 3)]
        norms = [(tensors(old[f"gamma{i}"]), tensors(old[f"beta{i}"])) for i in (1, 2)]
    else:
        x, y, params = draw_inputs(sizes, batch, gen)
        norms = [(1 + 0.3 * torch.randn(n, generator=gen), 0.2 * torch.randn(n, generator=gen)) for n in sizes[1:-1]]
    params = [(w.clone().requires_grad_(), b.clone().requires_grad_()) for w, b in params]
    bns = []
    for (g, be), n in zip(norms, sizes[1:-1]):
        bn = torch.nn.BatchNorm1d(n, eps=1e-5, momentum=0.1)
        with torch.no_grad():
            bn.weight.copy_(g)
            bn.bias.copy_(be)
        bns.append(bn)

    def net(inp):
        a = inp
        for i, (w, b) in enumerate(params):
            z = a @ w.T + b
            a = torch.relu(bns[i](z)) if i + 1 < len(params) else z
        return a

    logits = net(x)
    output, loss = loss_of(logits, y, "ce")
    loss.backward()
    out = [("x", x), ("y", y), ("logits", logits), ("output", output), ("loss", loss)]
    for i, (w, b) in enumerate(params, 1):
        out += [(f"w{i}", w.detach().clone()), (f"b{i}", b.detach().clone()), (f"dw{i}", w.grad), (f"db{i}", b.grad)]
    for i, bn in enumerate(bns, 1):
        out += [(f"gamma{i}", norms[i - 1][0]), (f"beta{i}", norms[i - 1][1]), (f"dgamma{i}", bn.weight.grad),
                (f"dbeta{i}", bn.bias.grad), (f"mean{i}_after", bn.running_mean.clone()),
                (f"var{i}_after", bn.running_var.clone())]
    with torch.no_grad():  # one plain SGD step of every parameter, then inference on the batch
        for w, b in params:
            w -= lr * w.grad
            b -= lr * b.grad
        for bn in bns:
            bn.weight -= lr * bn.weight.grad
            bn.bias -= lr * bn.bias.grad
            bn.eval()
        out.append(("eval_output", torch.softmax(net(x), 1)))
    return out


def average_case(old, gen):
    """An exponential moving average of a parameter vector over 4 SGD-like steps, as
    torch.optim.swa_utils.AveragedModel keeps it (the first update copies; decay 0.9 after)."""
    decay = 0.9
    steps = tensors(old["steps"]) if old else torch.randn(4, 50, generator=gen)
    model = torch.nn.Linear(5, 10)  # 50 parameters in its weight
    avg = torch.optim.swa_utils.AveragedModel(model, avg_fn=lambda a, p, n: decay * a + (1 - decay) * p)
    for s in steps:
        with torch.no_grad():
            model.weight.copy_(s.reshape(10, 5))
        avg.update_parameters(model)
    return [("steps", steps), ("average", avg.module.weight.detach().reshape(-1).clone())]


def as_numpy(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--check", action="store_true", help="compare with the files here instead of writing")
    args = ap.parse_args()
    files = build(args.out)
    worst = 0.0
    for name, arrays in files.items():
        arrays = [(k, as_numpy(v)) for k, v in arrays]
        if args.check:
            old = existing(os.path.join(HERE, name))
            if old is None or sorted(old) != sorted(k for k, _ in arrays):
                sys.exit(f"generate.py: {name} is missing or has other arrays")
            for k, v in arrays:
                if old[k].shape != v.shape or old[k].dtype != v.dtype:
                    sys.exit(f"generate.py: {name}:{k} is {old[k].dtype}{old[k].shape}, recomputed {v.dtype}{v.shape}")
                scale = float(np.abs(v).max(initial=0))
                if scale < 1e-12:
                    # zero in exact arithmetic (the bias gradients before batch normalization):
                    # float64 roundoff, about 1e-17, that differs from run to run
                    scale, v = 1.0, np.zeros_like(v)
                worst = max(worst, float(np.abs(old[k] - v).max(initial=0)) / scale)
            continue
        save = np.savez_compressed if name.endswith("_compressed.npz") else np.savez
        save(os.path.join(args.out, name), **dict(arrays))
    if args.check:
        print(f"generate.py: {len(files)} files agree with PyTorch now (largest relative difference {worst:.1e})")
        sys.exit(0 if worst < 1e-12 else 1)
    print(f"generate.py: wrote {len(files)} files to {args.out}")


if __name__ == "__main__":
    main()
