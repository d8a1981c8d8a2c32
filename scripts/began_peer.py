"""BEGAN in PyTorch on the same data and architecture as `latent-tui train
--objective began`, to tell a trainer bug from the objective's behaviour on
shapes. Needs torch and pillow; the data comes from `latent-tui dataset`.

    latent-tui dataset --n 20000 --out /tmp/shapes32 --seed 1
    python scripts/began_peer.py /tmp/shapes32 --minutes 5 --out /tmp/began-torch

`--paper` swaps in the paper's own networks (3x3 convolutions, ELU, nearest
upsampling, no tanh, a fully connected code; section 3.5 of seed 003) and
`--k0` starts k_t higher than 0; both collapse on shapes too.
"""
import argparse, glob, os, time

import numpy as np
import torch
from PIL import Image
from torch import nn


def widths(base, size):
    n, s = 0, 4
    while s < size:
        s, n = s * 2, n + 1
    return [base >> i for i in range(n)]


def generator(d, size, width, batch_norm):
    w = widths(width, size)
    act = (lambda c: [nn.BatchNorm2d(c), nn.ReLU()]) if batch_norm else (lambda c: [nn.ELU()])
    layers = [nn.Linear(d, 16 * w[0], bias=not batch_norm), nn.Unflatten(1, (w[0], 4, 4))] + act(w[0])
    for a, b in zip(w, w[1:]):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=not batch_norm)] + act(b)
    layers += [nn.ConvTranspose2d(w[-1], 3, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def load_images(folder):
    """The folder's PNGs as an NCHW tensor in [-1, 1]."""
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    x = np.stack([np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) for f in files])
    return torch.from_numpy(x).permute(0, 3, 1, 2) / 127.5 - 1


def save_grid(samples, path):
    """64 samples in [-1, 1] as one 8x8 PNG grid."""
    grid = ((samples.clamp(-1, 1) + 1) * 127.5).byte().permute(0, 2, 3, 1).numpy()
    rows = [np.concatenate(list(grid[r * 8:(r + 1) * 8]), axis=1) for r in range(8)]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def autoencoder(size, width, hidden):
    w = widths(width, size)
    layers, cin = [], 3
    for c in reversed(w):
        layers += [nn.Conv2d(cin, c, 4, 2, 1), nn.ELU()]
        cin = c
    layers += [nn.Flatten(), nn.Linear(16 * w[0], hidden), nn.Linear(hidden, 16 * w[0]),
               nn.Unflatten(1, (w[0], 4, 4)), nn.ELU()]
    for a, b in zip(w, w[1:]):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ELU()]
    layers += [nn.ConvTranspose2d(w[-1], 3, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


class PaperDecoder(nn.Module):
    """h -> 8x8 n-channel map, then [conv3 ELU conv3 ELU, nearest x2] up to the image, conv3 -> 3."""

    def __init__(self, hidden, n, size):
        super().__init__()
        self.n = n
        self.code = nn.Linear(hidden, 64 * n)
        layers, s = [], 8
        while True:
            layers += [nn.Conv2d(n, n, 3, 1, 1), nn.ELU(), nn.Conv2d(n, n, 3, 1, 1), nn.ELU()]
            if s == size:
                break
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            s *= 2
        self.body = nn.Sequential(*layers, nn.Conv2d(n, 3, 3, 1, 1))

    def forward(self, h):
        return self.body(self.code(h).view(-1, self.n, 8, 8))


def paper_autoencoder(size, n, hidden):
    """Encoder: conv3, then per scale two conv3 and a stride-2 conv3 widening by n, down to 8x8 -> h."""
    layers, s, c, k = [nn.Conv2d(3, n, 3, 1, 1), nn.ELU()], size, n, 1
    while True:
        layers += [nn.Conv2d(c, n * k, 3, 1, 1), nn.ELU(), nn.Conv2d(n * k, n * k, 3, 1, 1), nn.ELU()]
        c = n * k
        if s == 8:
            break
        k, s = k + 1, s // 2
        layers += [nn.Conv2d(c, n * k, 3, 2, 1), nn.ELU()]
        c = n * k
    encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * c, hidden))
    return nn.Sequential(encoder, PaperDecoder(hidden, n, size))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--out", required=True)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--gamma", type=float, default=0.5)
    p.add_argument("--lambda-k", type=float, default=0.001)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--generator-norm", choices=["batch", "none"], default="batch")
    p.add_argument("--minutes", type=float, default=5)
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--k0", type=float, default=0.0, help="initial k_t")
    p.add_argument("--paper", action="store_true", help="the paper's networks (width = n)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--report-every", type=int, default=500)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = load_images(a.data)
    size = data.shape[-1]
    print(f"spread of the data over images {data[:64].std(0).mean().item():.4f}", flush=True)
    if a.paper:
        G, D = PaperDecoder(a.latent, a.width, size), paper_autoencoder(size, a.width, a.hidden)
    else:
        G = generator(a.latent, size, a.width, a.generator_norm == "batch")
        D = autoencoder(size, a.width, a.hidden)
    og = torch.optim.Adam(G.parameters(), a.lr, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), a.lr, betas=(0.5, 0.999))
    L = lambda v: (v - D(v)).abs().mean()
    fixed = torch.rand(64, a.latent) * 2 - 1
    os.makedirs(a.out, exist_ok=True)
    k, step, start = a.k0, 0, time.time()
    while time.time() - start < a.minutes * 60:
        real = data[torch.randint(len(data), (a.batch,))]
        z = torch.rand(a.batch, a.latent) * 2 - 1
        fake = G(z)
        lr_, lf = L(real), L(fake.detach())
        od.zero_grad(); (lr_ - k * lf).backward(); od.step()
        og.zero_grad(); lg = L(G(z)); lg.backward(); og.step()
        k = min(max(k + a.lambda_k * (a.gamma * lr_.item() - lg.item()), 0.0), 1.0)
        step += 1
        if step % a.report_every == 0:
            with torch.no_grad():
                G.eval(); s = G(fixed); G.train()
            spread = s.std(0).mean().item()
            print(f"step {step} L(x) {lr_.item():.4f} L(G) {lg.item():.4f} k {k:.4f} "
                  f"M {lr_.item() + abs(a.gamma * lr_.item() - lg.item()):.4f} spread over z {spread:.4f}", flush=True)
            save_grid(s, os.path.join(a.out, f"step_{step:06d}.png"))


if __name__ == "__main__":
    main()
