#!/usr/bin/env python3
"""The latent-bench model rows in PyTorch (CPU) and ONNX Runtime, as JSON.

Same models, batch sizes, row ids and timing rules as `latent-bench --json`
(Sources/latent-bench), so scripts/compare_peers.sh can put them side by side:

  <model>-g-fwd-b1, -b64     generator forward, eval mode, no autograd (PyTorch and ORT)
  <model>-train-b64          one WGAN-GP critic step + one generator step (PyTorch)
  shipped32-train-b64-ncritic1, -ncritic5

Each row: `warmup` untimed calls, then `repeats` timed calls; median, min and
max of those. Needs torch, onnx and onnxruntime (a venv outside the repo):

  python -m venv /work/venv-torch && /work/venv-torch/bin/pip install torch onnx onnxruntime
  /work/venv-torch/bin/python scripts/bench_peers.py --threads 2 > peers.json
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings

import torch
import torch.nn as nn


# The reference models (Sources/latent-bench/ReferenceModels.swift): widths from the 4×4 stage outward.
MODELS = {
    "dcgan32": dict(latent=64, image_size=32, widths=[256, 128, 64]),
    "dcgan64": dict(latent=128, image_size=64, widths=[256, 128, 64, 32]),
    "shipped32": dict(latent=64, image_size=32, widths=[128, 64, 32]),
}
CHANNELS = 3
BATCH = 64
# WGAN-GP as latent-tui trains it (TrainingConfig(objective: .wganGP)); latent-bench reports its values per row.
LR, BETAS, GP_LAMBDA = 1e-4, (0.0, 0.9), 10.0


def generator(latent, widths):
    layers = [nn.Linear(latent, 16 * widths[0], bias=False), nn.Unflatten(1, (widths[0], 4, 4)),
              nn.BatchNorm2d(widths[0]), nn.ReLU()]
    for a, b in zip(widths, widths[1:]):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
    layers += [nn.ConvTranspose2d(widths[-1], CHANNELS, 4, 2, 1, bias=True), nn.Tanh()]
    return dcgan_init(nn.Sequential(*layers))


def critic(widths):
    layers, cin = [], CHANNELS
    for cout in reversed(widths):
        layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=True), nn.LeakyReLU(0.2)]
        cin = cout
    layers += [nn.Flatten(), nn.Linear(16 * cin, 1)]
    return dcgan_init(nn.Sequential(*layers))


def dcgan_init(net):
    """latent-tui's initialisation (Network(spec:initializeWith:)): weights N(0, 0.02), BN scales N(1, 0.02), biases 0."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.02)
                m.bias.zero_()
            elif isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.normal_(0.0, 0.02)
                if m.bias is not None:
                    m.bias.zero_()
    return net


def forward_flops(net, input_shape):
    """Multiply-add FLOPs (2 per MAC) of one sample through Linear and conv layers, counted from
    the shapes PyTorch actually produces: an independent check of latent-bench's count from the spec."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        x = inputs[0]
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features * (x.numel() // x.shape[-1])
        elif isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += 2 * module.in_channels * module.out_channels * k * output.shape[2] * output.shape[3]
        elif isinstance(module, nn.ConvTranspose2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += 2 * module.in_channels * module.out_channels * k * x.shape[2] * x.shape[3]

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        net(torch.zeros(1, *input_shape))
    net.train(was_training)
    for h in handles:
        h.remove()
    return float(total)


def params(net):
    return sum(p.numel() for p in net.parameters())


# --- measurement ---------------------------------------------------------------------------------

def reset_peak():
    """Linux resets the resident high-water mark on `5 > /proc/self/clear_refs`: a peak per row."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def status_mib(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(body, repeats, warmup):
    per_row = reset_peak()
    start = status_mib("VmRSS")
    for _ in range(warmup):
        body()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        body()
        samples.append((time.perf_counter_ns() - t0) / 1e9)
    peak = status_mib("VmHWM") if per_row else None
    if peak is None:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return dict(median_s=statistics.median(samples), min_s=min(samples), max_s=max(samples), samples_s=samples,
                repeats=len(samples), warmup=warmup, peak_rss_mib=peak, start_rss_mib=start, peak_is_per_row=per_row)


# --- rows ----------------------------------------------------------------------------------------

def torch_forward(name, batch):
    m = MODELS[name]
    torch.manual_seed(1)
    g = generator(m["latent"], m["widths"]).eval()
    z = torch.randn(batch, m["latent"])

    def body():
        with torch.inference_mode():
            g(z)
    flops = forward_flops(g, (m["latent"],))
    return body, dict(flops=flops * batch, batch=batch, params_g=params(g), flops_per_sample_g=flops)


def ort_forward(name, batch, threads, workdir):
    import numpy as np
    import onnxruntime as ort
    m = MODELS[name]
    torch.manual_seed(1)
    g = generator(m["latent"], m["widths"]).eval()
    z = torch.randn(batch, m["latent"])
    path = os.path.join(workdir, f"{name}-b{batch}.onnx")
    export(g, z, path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # counts the calling thread
    options.inter_op_num_threads = 1  # a chain of layers: nothing to run side by side
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: z.numpy()}
    # The exported graph must compute what PyTorch computes, or the timing compares different work.
    with torch.inference_mode():
        expected = g(z).numpy()
    error = float(np.abs(session.run(None, feed)[0] - expected).max())
    flops = forward_flops(g, (m["latent"],))
    return (lambda: session.run(None, feed)), dict(flops=flops * batch, batch=batch, params_g=params(g),
                                                   flops_per_sample_g=flops, max_abs_error_vs_torch=error)


def export(g, z, path):
    """Exports with a dynamic batch axis through the TorchScript exporter, which needs no onnxscript
    (the dynamo one, PyTorch's default since 2.9, does); deprecated but present in the PyTorch used here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(g, (z,), path, input_names=["z"], output_names=["image"], opset_version=17,
                          dynamic_axes={"z": {0: "batch"}, "image": {0: "batch"}}, dynamo=False)


def torch_train(name, critic_steps):
    """One Trainer.trainStep() of latent-tui in PyTorch: `critic_steps` critic updates on a real and a
    fake batch (one critic call on both, as the Trainer does) with the gradient penalty through
    autograd.grad(create_graph=True), then one generator update; Adam(1e-4, betas (0, 0.9))."""
    m = MODELS[name]
    torch.manual_seed(1)
    g, d = generator(m["latent"], m["widths"]).train(), critic(m["widths"]).train()
    opt_g = torch.optim.Adam(g.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(d.parameters(), lr=LR, betas=BETAS)
    g_params, d_params = list(g.parameters()), list(d.parameters())
    # A few fixed random real batches in [-1, 1], cycled, as in latent-bench: no data pipeline in the timing.
    size = m["image_size"]
    pool = [torch.rand(BATCH, CHANNELS, size, size) * 2 - 1 for _ in range(4)]
    state = {"next": 0}

    def apply(optimizer, parameters, loss):
        # Gradients of exactly these parameters, like latent-tui's gradients(of:wrt:).
        for p, grad in zip(parameters, torch.autograd.grad(loss, parameters)):
            p.grad = grad
        optimizer.step()

    def step():
        for _ in range(critic_steps):
            real = pool[state["next"]]
            state["next"] = (state["next"] + 1) % len(pool)
            z = torch.randn(BATCH, m["latent"])
            with torch.no_grad():
                fake = g(z)  # train mode: batch statistics, as the Trainer's critic step
            out = d(torch.cat([real, fake]))
            d_real, d_fake = out[:BATCH].mean(), out[BATCH:].mean()
            t = torch.rand(BATCH, 1, 1, 1)
            xhat = (real * t + fake * (1 - t)).requires_grad_(True)
            (gx,) = torch.autograd.grad(d(xhat).sum(), xhat, create_graph=True)
            norms = (gx.square().sum(dim=(1, 2, 3)) + 1e-12).sqrt()
            loss = d_fake - d_real + GP_LAMBDA * (norms - 1).square().mean()
            if not torch.isfinite(loss).item():  # the Trainer's divergence check reads the loss too
                raise RuntimeError(f"{name}: critic loss is {loss.item()}")
            apply(opt_d, d_params, loss)
        z = torch.randn(BATCH, m["latent"])
        loss = -d(g(z)).mean()
        if not torch.isfinite(loss).item():
            raise RuntimeError(f"{name}: generator loss is {loss.item()}")
        apply(opt_g, g_params, loss)

    info = dict(batch=BATCH, critic_steps=critic_steps, params_g=params(g), params_d=params(d),
                flops_per_sample_g=forward_flops(g, (m["latent"],)),
                flops_per_sample_d=forward_flops(d, (CHANNELS, size, size)),
                optimizer="adam", lr=[LR, LR], betas=list(BETAS), gp_lambda=GP_LAMBDA)
    return step, info


def rows(threads, workdir):
    """(id, backend, title, default repeats, prepare): latent-bench's order and default repeats."""
    out = []
    for name in ["dcgan32", "dcgan64"]:
        for batch, repeats in [(1, 50), (64, 10)]:
            rid = f"{name}-g-fwd-b{batch}"
            title = f"{name} G forward, batch {batch}"
            out.append((rid, "pytorch", title, repeats, lambda n=name, b=batch: torch_forward(n, b)))
            out.append((rid, "onnxruntime", title, repeats, lambda n=name, b=batch: ort_forward(n, b, threads, workdir)))
        out.append((f"{name}-train-b64", "pytorch", f"{name} WGAN-GP step, batch 64, n_critic 1", 5,
                    lambda n=name: torch_train(n, 1)))
    for critic_steps, repeats in [(1, 5), (5, 3)]:
        out.append((f"shipped32-train-b64-ncritic{critic_steps}", "pytorch",
                    f"shipped32 WGAN-GP step, batch 64, n_critic {critic_steps}", repeats,
                    lambda c=critic_steps: torch_train("shipped32", c)))
    return out


def versions():
    v = {"python": platform.python_version(), "torch": torch.__version__,
         "torch_mkldnn": torch.backends.mkldnn.is_available()}
    for module in ["onnxruntime", "onnx", "numpy"]:
        try:
            v[module] = __import__(module).__version__
        except ImportError:
            v[module] = None
    return v


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--only", action="append", default=[],
                        help="run rows whose id starts with one of these (comma-separated, repeatable)")
    parser.add_argument("--backends", default="pytorch,onnxruntime")
    parser.add_argument("--repeats", type=int, help="timed runs per row (default: latent-bench's per-row defaults)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.threads < 1 or (args.repeats is not None and args.repeats < 1) or args.warmup < 0:
        parser.error("--threads and --repeats must be positive, --warmup non-negative")

    torch.set_num_threads(args.threads)
    only = [p for item in args.only for p in item.split(",") if p]
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="bench_peers-") as workdir:
        table = rows(args.threads, workdir)
        if args.list:
            for rid, backend, title, repeats, _ in table:
                print(f"{rid:30}{backend:13}{repeats:3d} repeats  {title}")
            return
        selected = [r for r in table if r[1] in backends and (not only or any(r[0].startswith(p) for p in only))]
        if not selected:
            parser.error("no row matches --only/--backends")
        print(f"bench_peers · threads {args.threads} · torch {torch.__version__} · {os.cpu_count()} cores · "
              f"warm-up {args.warmup}", file=sys.stderr)
        results = []
        for rid, backend, title, repeats, prepare in selected:
            body, info = prepare()
            m = measure(body, args.repeats or repeats, args.warmup)
            record = dict(id=rid, backend=backend, title=title, threads=args.threads, **m, **info)
            if "flops" in info:
                record["gflops"] = info["flops"] / m["median_s"] / 1e9
            results.append(record)
            gf = f"  {record['gflops']:7.1f} GFLOP/s" if "gflops" in record else ""
            print(f"{title:40} {backend:12} median {m['median_s'] * 1e3:9.3f} ms  (min {m['min_s'] * 1e3:.3f}, "
                  f"max {m['max_s'] * 1e3:.3f})  n={m['repeats']}{gf}  peak RSS {m['peak_rss_mib']:.0f} MiB",
                  file=sys.stderr)
            del body  # free the row's models before the next one, so per-row peaks stay per row
    doc = dict(tool="bench_peers", date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               threads=args.threads, cores=os.cpu_count(), warmup=args.warmup, versions=versions(), rows=results)
    json.dump(doc, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
