#!/usr/bin/env python3
"""Write Tests/TensorsTests/Fixtures/torch_ops.json: reference values from PyTorch
for conv2d, conv_transpose2d and batch_norm (forward, backward, and a
gradient-penalty style second-order case).

Run with the torch venv (see scripts/README.md):
    /work/venv-torch/bin/python scripts/make_tensor_fixtures.py

JSON layout:
  {"torch_version": str,
   "cases": [{"name": str, "op": str, "params": {...},
              "tensors": {name: {"shape": [..], "data": [flat C-order floats]}}}]}
All tensors are float32; each value is written as the exact decimal of the
float32 value (via Python float), so parsing as Double then rounding to Float
gives back the same bits.
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TensorsTests", "Fixtures", "torch_ops.json")

DT = torch.float32


def enc(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def randn(*shape):
    return torch.randn(*shape, dtype=DT)


def conv_case(name, op, x_shape, w_shape, b_shape, params):
    x = randn(*x_shape).requires_grad_(True)
    w = (randn(*w_shape) * 0.5).requires_grad_(True)
    b = randn(*b_shape).requires_grad_(True)
    if op == "conv2d":
        y = F.conv2d(x, w, b, stride=params["stride"], padding=params["padding"])
    else:
        y = F.conv_transpose2d(x, w, b, stride=params["stride"], padding=params["padding"],
                               output_padding=params["output_padding"])
    gy = randn(*y.shape)
    gx, gw, gb = torch.autograd.grad((y * gy).sum(), (x, w, b))
    return {"name": name, "op": op, "params": params,
            "tensors": {"x": enc(x), "w": enc(w), "b": enc(b), "y": enc(y), "gy": enc(gy),
                        "gx": enc(gx), "gw": enc(gw), "gb": enc(gb)}}


def gradpen_case(name, base):
    """Second-order case on exactly the tensors (x, w, b, gy) of `base` (a conv2d case)."""
    T = base["tensors"]
    dec = lambda e: torch.tensor(e["data"], dtype=DT).reshape(e["shape"])
    params = base["params"]
    x = dec(T["x"]).requires_grad_(True)
    w = dec(T["w"]).requires_grad_(True)
    b = dec(T["b"]).requires_grad_(True)
    gy = dec(T["gy"])
    y = F.conv2d(x, w, b, stride=params["stride"], padding=params["padding"])
    (gx,) = torch.autograd.grad((y * gy).sum(), x, create_graph=True)
    s = (gx ** 2).sum()
    gw2, gb2 = torch.autograd.grad(s, (w, b), allow_unused=True)
    if gb2 is None:
        gb2 = torch.zeros_like(b)
    return {"name": name, "op": "conv2d_gradpen", "params": dict(params),
            "tensors": {"x": enc(x), "w": enc(w), "b": enc(b), "y": enc(y), "gy": enc(gy),
                        "gx": enc(gx), "s": enc(s.reshape(1)), "gw2": enc(gw2), "gb2": enc(gb2)}}


def bn_case(name, x_shape, training, momentum=0.1, eps=1e-5):
    c = x_shape[1]
    # channels with different means and scales
    bshape = [1, c] + [1] * (len(x_shape) - 2)
    means = torch.tensor([-2.0, 0.5, 3.0], dtype=DT)[:c].reshape(bshape)
    scales = torch.tensor([0.5, 2.0, 1.3], dtype=DT)[:c].reshape(bshape)
    x = (randn(*x_shape) * scales + means).requires_grad_(True)
    weight = (1.0 + 0.3 * randn(c)).requires_grad_(True)
    bias = (0.2 * randn(c)).requires_grad_(True)
    rm = 0.5 * randn(c)
    rv = 0.5 + torch.rand(c, dtype=DT) * 1.5
    rm_before, rv_before = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, weight, bias, training=training, momentum=momentum, eps=eps)
    gy = randn(*y.shape)
    gx, gweight, gbias = torch.autograd.grad((y * gy).sum(), (x, weight, bias))
    tensors = {"x": enc(x), "weight": enc(weight), "bias": enc(bias),
               "running_mean": enc(rm_before), "running_var": enc(rv_before),
               "y": enc(y), "gy": enc(gy), "gx": enc(gx), "gweight": enc(gweight),
               "gbias": enc(gbias)}
    if training:
        tensors["running_mean_after"] = enc(rm)
        tensors["running_var_after"] = enc(rv)
    return {"name": name, "op": "batch_norm_train" if training else "batch_norm_eval",
            "params": {"momentum": momentum, "eps": eps}, "tensors": tensors}


def main():
    torch.manual_seed(0)
    cases = [
        conv_case("conv2d_s2p1_k3", "conv2d", [2, 3, 7, 6], [4, 3, 3, 3], [4],
                  {"stride": 2, "padding": 1}),
        conv_case("conv2d_s1p0_k2", "conv2d", [2, 2, 5, 5], [3, 2, 2, 2], [3],
                  {"stride": 1, "padding": 0}),
        conv_case("conv_transpose2d_s2p1_k4", "conv_transpose2d", [2, 4, 3, 3], [4, 3, 4, 4], [3],
                  {"stride": 2, "padding": 1, "output_padding": 0}),
        conv_case("conv_transpose2d_s2p1op1_k3", "conv_transpose2d", [1, 2, 4, 3], [2, 3, 3, 3], [3],
                  {"stride": 2, "padding": 1, "output_padding": 1}),
        bn_case("batch_norm_train_4d", [4, 3, 2, 2], True),
        bn_case("batch_norm_train_2d", [5, 3], True),
        bn_case("batch_norm_eval_4d", [4, 3, 2, 2], False),
        bn_case("batch_norm_eval_2d", [5, 3], False),
    ]
    cases.append(gradpen_case("conv2d_double", cases[0]))
    doc = {"torch_version": torch.__version__, "cases": cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
