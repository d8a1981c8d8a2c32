#!/usr/bin/env python3
"""Write small generator checkpoints (safetensors, DESIGN.md "Checkpoint format")
plus reference inputs/outputs into Tests/NNTests/Fixtures/.

Run with the torch venv (see scripts/README.md):
    /work/venv-torch/bin/python scripts/make_checkpoint_fixtures.py

For each model <name>:
  <name>.safetensors  state_dict + __metadata__ {"format": "latent-tui/1", "generator": spec}
  <name>.z.npy        float32 [4, latent_dim], torch.randn
  <name>.out.npy      float32 [4, channels, H, W], eval-mode output for z (computed in float32)
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "NNTests", "Fixtures")
N_SAMPLES = 4


class Wrapped(nn.Module):
    """Generator whose Sequential lives under attribute `main` (keys main.0.weight, ...)."""

    def __init__(self, seq, input_shape):
        super().__init__()
        self.main = seq
        self.input_shape = input_shape

    def forward(self, z):
        return self.main(z.reshape(z.shape[0], *self.input_shape))


def dcgan_convt():
    seq = nn.Sequential(
        nn.ConvTranspose2d(16, 32, 4, 1, 0, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=True), nn.Tanh())
    spec = {
        "prefix": "main", "latent_dim": 16, "prior": "gaussian", "input_shape": [16, 1, 1],
        "image_size": 32, "channels": 3, "value_range": [-1, 1],
        "layers": [
            {"op": "convtranspose2d", "in": 16, "out": 32, "kernel": 4, "stride": 1, "padding": 0, "bias": False},
            {"op": "batchnorm2d", "features": 32, "eps": 1e-5},
            {"op": "relu"},
            {"op": "convtranspose2d", "in": 32, "out": 16, "kernel": 4, "stride": 2, "padding": 1, "bias": False},
            {"op": "batchnorm2d", "features": 16, "eps": 1e-5},
            {"op": "leakyrelu", "slope": 0.2},
            {"op": "convtranspose2d", "in": 16, "out": 8, "kernel": 4, "stride": 2, "padding": 1, "bias": False},
            {"op": "batchnorm2d", "features": 8, "eps": 1e-5},
            {"op": "relu"},
            {"op": "convtranspose2d", "in": 8, "out": 3, "kernel": 4, "stride": 2, "padding": 1, "bias": True},
            {"op": "tanh"}]}
    return Wrapped(seq, (16, 1, 1)), spec, (16,)


def dcgan_linear():
    net = nn.Sequential(
        nn.Linear(16, 32 * 4 * 4), nn.Unflatten(1, (32, 4, 4)), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.BatchNorm2d(8), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(8, 3, 4, 2, 1), nn.Tanh())

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, z):
            return self.net(z)

    spec = {
        "prefix": "net", "latent_dim": 16, "prior": "gaussian",
        "image_size": 32, "channels": 3, "value_range": [-1, 1],
        "layers": [
            {"op": "linear", "in": 16, "out": 512, "bias": True},
            {"op": "unflatten", "shape": [32, 4, 4]},
            {"op": "batchnorm2d", "features": 32, "eps": 1e-5},
            {"op": "relu"},
            {"op": "convtranspose2d", "in": 32, "out": 16, "kernel": 4, "stride": 2, "padding": 1,
             "output_padding": 0, "bias": True},
            {"op": "batchnorm2d", "features": 16, "eps": 1e-5},
            {"op": "relu"},
            {"op": "convtranspose2d", "in": 16, "out": 8, "kernel": 4, "stride": 2, "padding": 1,
             "output_padding": 0, "bias": True},
            {"op": "batchnorm2d", "features": 8, "eps": 1e-5},
            {"op": "leakyrelu", "slope": 0.2},
            {"op": "convtranspose2d", "in": 8, "out": 3, "kernel": 4, "stride": 2, "padding": 1,
             "output_padding": 0, "bias": True},
            {"op": "tanh"}]}
    return G(), spec, (16,)


def bare_sequential():
    seq = nn.Sequential(
        nn.Linear(8, 16 * 4 * 4), nn.Unflatten(1, (16, 4, 4)), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(16, 3, 3, 1, 1), nn.Sigmoid())
    spec = {
        "prefix": "", "latent_dim": 8, "prior": "gaussian",
        "image_size": 8, "channels": 3, "value_range": [0, 1],
        "layers": [
            {"op": "linear", "in": 8, "out": 256, "bias": True},
            {"op": "unflatten", "shape": [16, 4, 4]},
            {"op": "batchnorm2d", "features": 16, "eps": 1e-5},
            {"op": "relu"},
            {"op": "upsample", "scale": 2},
            {"op": "conv2d", "in": 16, "out": 3, "kernel": 3, "stride": 1, "padding": 1, "bias": True},
            {"op": "sigmoid"}]}
    return seq, spec, (8,)


def randomize_batchnorm(model, input_shape, gen_seed):
    """Random BN affine params and non-trivial running stats: 4 train-mode passes with
    momentum 0.5 on shifted/scaled random z, then random perturbation of the stats."""
    g = torch.Generator().manual_seed(gen_seed)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(1.0 + 0.2 * torch.randn(bn.num_features, generator=g))
            bn.bias.copy_(0.1 * torch.randn(bn.num_features, generator=g))
            bn.momentum = 0.5
        model.train()
        for _ in range(4):
            z = torch.randn(32, *input_shape, generator=g) * 1.5 + 0.3
            model(z)
        for bn in bns:
            bn.momentum = 0.1
            # perturb the stats so a reader that ignores or swaps them fails clearly
            sd = bn.running_var.sqrt()
            bn.running_mean.add_(0.5 * sd * torch.randn(bn.num_features, generator=g))
            bn.running_var.mul_(0.5 + torch.rand(bn.num_features, generator=g))
    model.eval()


def write_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype="<f4"))


def save(name, model, spec, latent_shape, sd, z_seed):
    meta = {"format": "latent-tui/1", "generator": json.dumps(spec)}
    st = os.path.join(OUT_DIR, name + ".safetensors")
    save_file({k: v.contiguous() for k, v in sd.items()}, st, metadata=meta)
    g = torch.Generator().manual_seed(z_seed)
    z = torch.randn(N_SAMPLES, *latent_shape, generator=g, dtype=torch.float32)
    with torch.no_grad():
        out = model(z)
    assert out.dtype == torch.float32
    assert list(out.shape) == [N_SAMPLES, spec["channels"], spec["image_size"], spec["image_size"]], out.shape
    write_npy(os.path.join(OUT_DIR, name + ".z.npy"), z.numpy())
    write_npy(os.path.join(OUT_DIR, name + ".out.npy"), out.numpy())


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(0)

    # a) dcgan_convt
    model_a, spec_a, lat_a = dcgan_convt()
    randomize_batchnorm(model_a, lat_a, 100)
    sd_a = {k: v.detach().clone() for k, v in model_a.state_dict().items()}
    save("dcgan_convt", model_a, spec_a, lat_a, sd_a, 1)

    # b) dcgan_linear
    model_b, spec_b, lat_b = dcgan_linear()
    randomize_batchnorm(model_b, lat_b, 101)
    save("dcgan_linear", model_b, spec_b, lat_b, model_b.state_dict(), 2)

    # c) bare_sequential
    model_c, spec_c, lat_c = bare_sequential()
    randomize_batchnorm(model_c, lat_c, 102)
    save("bare_sequential", model_c, spec_c, lat_c, model_c.state_dict(), 3)

    # d) dcgan_f16: model (a) stored in fp16; reference = fp32 model with fp16-rounded weights
    sd_d = {k: (v.half() if v.is_floating_point() else v) for k, v in sd_a.items()}
    model_d, _, _ = dcgan_convt()
    model_d.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in sd_d.items()})
    model_d.eval()
    save("dcgan_f16", model_d, spec_a, lat_a, sd_d, 4)

    # verify headers
    expect = {"dcgan_convt": "F32", "dcgan_linear": "F32", "bare_sequential": "F32", "dcgan_f16": "F16"}
    for name, fdt in expect.items():
        h = read_header(os.path.join(OUT_DIR, name + ".safetensors"))
        md = h.pop("__metadata__")
        assert md["format"] == "latent-tui/1" and json.loads(md["generator"])["layers"]
        for k, info in h.items():
            want = "I64" if k.endswith("num_batches_tracked") else fdt
            assert info["dtype"] == want, (name, k, info["dtype"])
        print(f"{name}: {len(h)} tensors, keys {sorted(h)[:3]}..., dtypes {sorted({v['dtype'] for v in h.values()})}")

    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.write(f"""# NN test fixtures

Generated by `scripts/make_checkpoint_fixtures.py` with torch {torch.__version__}.
Do not edit by hand. To regenerate (from the repo root, venv as in `scripts/README.md`):

    /work/venv-torch/bin/python scripts/make_checkpoint_fixtures.py

For each model `<name>`:

- `<name>.safetensors`: the PyTorch `state_dict` (eval-mode BatchNorm running stats
  included, `num_batches_tracked` kept as I64) with `__metadata__`
  `format = latent-tui/1` and `generator` = the spec (DESIGN.md, "Checkpoint format").
- `<name>.z.npy`: float32 [4, latent_dim] latent vectors (torch.randn, fixed seed).
- `<name>.out.npy`: float32 [4, 3, H, W], the model's eval-mode output for those z.

Models:

- `dcgan_convt`: prefix `main` (module attribute), input_shape [16,1,1], ConvTranspose2d/BatchNorm2d/ReLU/LeakyReLU/Tanh, 32x32, range [-1,1].
- `dcgan_linear`: prefix `net`, Linear → Unflatten → BN/ReLU → 3× ConvTranspose2d (spec gives `output_padding: 0` explicitly), 32x32, range [-1,1].
- `bare_sequential`: bare nn.Sequential, prefix `""`, Linear → Unflatten → BN → ReLU → Upsample(2, nearest) → Conv2d → Sigmoid, 8x8, range [0,1].
- `dcgan_f16`: `dcgan_convt` with every float tensor stored as F16 (num_batches_tracked stays I64), same spec;
  `out.npy` is the float32 model evaluated with the fp16-rounded weights, so only float32 compute error remains.
""")


if __name__ == "__main__":
    main()
