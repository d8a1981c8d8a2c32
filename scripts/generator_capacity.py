"""Can latent-tui's DCGAN generator draw clean shapes at all, whatever trains it?

Fits the generator of `latent-tui train --width W` by plain regression (MSE)
from each image's true factors (kind, position, scale, rotation, colour,
background) to the image: no critic, no sampling noise, one right answer per
input. Reports the test error and the share of images whose interior colour is
uniform (ShapeStatistics' `uniform colour` condition: background from the
median border colour, foreground farther than 0.15 from it, interior = mask
pixels two steps in from the mask's edge, RMS colour spread at most 0.1).
If regression is slow to get there too, a GAN's slow progress on that
condition is the architecture's, not the objective's. Needs torch and pillow.

    latent-tui dataset --n 20000 --out /tmp/shapes32 --seed 1
    python scripts/generator_capacity.py /tmp/shapes32 --width 64 --steps 9000
"""
import argparse, json, math, os, time

import numpy as np
import torch
from torch import nn

from began_peer import generator, load_images, save_grid


def factor_features(entry, kinds):
    f = entry["factors"]
    r, h = f["rotation"], 2 * math.pi * f["hue"]
    # Rotations of order 3 and 4 too: a triangle or square turned by a third or
    # a quarter turn is the same image.
    return ([1.0 if f["kind"] == k else 0.0 for k in kinds]
            + [f["x"], f["y"], f["scale"], math.cos(r), math.sin(r), math.cos(3 * r), math.sin(3 * r),
               math.cos(4 * r), math.sin(4 * r), math.cos(h), math.sin(h), f["saturation"], f["value"],
               f["background"]])


def erode(mask):
    """Mask pixels whose four neighbours are mask pixels too."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]; inner[:-1] &= mask[1:]; inner[:, 1:] &= mask[:, :-1]; inner[:, :-1] &= mask[:, 1:]
    inner[0] = inner[-1] = False; inner[:, 0] = inner[:, -1] = False
    return inner


def uniform_colour(images):
    """Median interior colour spread and the share of images with spread <= 0.1."""
    spreads = []
    for im in (images.permute(0, 2, 3, 1).numpy() + 1) / 2:
        border = np.concatenate([im[0], im[-1], im[:, 0], im[:, -1]])
        mask = np.sqrt(((im - np.median(border, 0)) ** 2).sum(-1)) > 0.15
        one = erode(mask)
        two = erode(one)
        px = im[two] if two.any() else im[one] if one.any() else im[mask]
        spreads.append(np.sqrt(max((px ** 2).sum(-1).mean() - (px.mean(0) ** 2).sum(), 0)) if len(px) else 1.0)
    spreads = np.array(spreads)
    return float(np.median(spreads)), float((spreads <= 0.1).mean())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data", help="a folder written by `latent-tui dataset` (PNGs and factors.json)")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--steps", type=int, default=9000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--held-out", type=int, default=1000, help="first N images: evaluated, never trained on")
    p.add_argument("--report-every", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grid", help="write 64 held-out reconstructions here at the end (PNG)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    x = load_images(a.data)
    entries = {e["file"]: e for e in json.load(open(os.path.join(a.data, "factors.json")))["images"]}
    files = sorted(entries)
    kinds = sorted({e["factors"]["kind"] for e in entries.values()})
    f = torch.tensor([factor_features(entries[name], kinds) for name in files], dtype=torch.float32)
    assert len(f) == len(x) > a.held_out, "factors.json and the PNGs disagree, or too few images"

    g = nn.Sequential(nn.Linear(f.shape[1], 64), *generator(64, x.shape[-1], a.width, True))
    opt = torch.optim.Adam(g.parameters(), a.lr)
    start = time.time()
    for step in range(1, a.steps + 1):
        idx = torch.randint(a.held_out, len(x), (a.batch,))
        loss = ((g(f[idx]) - x[idx]) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        if step % a.report_every == 0 or step == a.steps:
            g.eval()
            with torch.no_grad():
                out = g(f[:a.held_out])
            g.train()
            median, share = uniform_colour(out)
            print(f"width {a.width} step {step} {time.time() - start:.0f}s  train MSE {loss.item():.4f}  "
                  f"held-out MSE {((out - x[:a.held_out]) ** 2).mean().item():.4f}  "
                  f"colour spread median {median:.3f}  uniform colour {share:.3f}", flush=True)
    if a.grid:
        save_grid(out[:64], a.grid)
    _, data_share = uniform_colour(x[:a.held_out])
    print(f"dataset: uniform colour {data_share:.3f}")


if __name__ == "__main__":
    main()
