"""WGAN-GP in PyTorch on the same data, architecture and settings as
`latent-tui train --objective wgan-gp` (without path length regularization), to
tell slow convergence from a trainer bug by comparing sample grids step for
step. `--objective ns` trains the non-saturating baseline instead (softplus
losses, one critic step, Adam 2e-4, β (0.5, 0.999)), as `train --objective ns`
does. Needs torch and pillow; the data comes from `latent-tui dataset`.

    latent-tui dataset --n 20000 --out /tmp/shapes32 --seed 1
    python scripts/wgangp_peer.py /tmp/shapes32 --width 128 --steps 2000 --out /tmp/wgangp-torch
"""
import argparse, os, time

import torch
from torch import nn

from began_peer import generator, load_images, save_grid, widths


def critic(size, width):
    layers, cin = [], 3
    for c in reversed(widths(width, size)):
        layers += [nn.Conv2d(cin, c, 4, 2, 1), nn.LeakyReLU(0.2)]
        cin = c
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * cin, 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--out", required=True)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--sample-every", type=int, default=250)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--objective", choices=["wgan-gp", "ns"], default="wgan-gp")
    p.add_argument("--prior", choices=["gaussian", "uniform"], default="gaussian")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    data = load_images(a.data)
    size = data.shape[-1]
    G, D = generator(a.latent, size, a.width, True), critic(size, a.width)
    ns = a.objective == "ns"
    lr, betas, n_critic = (2e-4, (0.5, 0.999), 1) if ns else (1e-4, (0.0, 0.9), 5)
    og = torch.optim.Adam(G.parameters(), lr, betas=betas)
    od = torch.optim.Adam(D.parameters(), lr, betas=betas)
    softplus = nn.functional.softplus

    def prior(n):
        return torch.rand(n, a.latent) * 2 - 1 if a.prior == "uniform" else torch.randn(n, a.latent)

    fixed = prior(64)
    os.makedirs(a.out, exist_ok=True)
    step, start = 0, time.time()
    while step < a.steps and time.time() - start < a.minutes * 60:
        for _ in range(n_critic):
            real = data[torch.randint(len(data), (a.batch,))]
            fake = G(prior(a.batch)).detach()
            if ns:
                gp = torch.zeros(())
                loss_d = softplus(D(fake)).mean() + softplus(-D(real)).mean()
            else:
                e = torch.rand(a.batch, 1, 1, 1)
                mixed = (e * real + (1 - e) * fake).requires_grad_(True)
                g, = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)
                gp = ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
                loss_d = D(fake).mean() - D(real).mean() + 10 * gp
            od.zero_grad(); loss_d.backward(); od.step()
        out = D(G(prior(a.batch)))
        loss_g = softplus(-out).mean() if ns else -out.mean()
        og.zero_grad(); loss_g.backward(); og.step()
        step += 1
        if step % a.sample_every == 0:
            print(f"step {step} D {loss_d.item():.3f} G {loss_g.item():.3f} GP {gp.item():.3f} "
                  f"{time.time() - start:.0f} s", flush=True)
            with torch.no_grad():
                G.eval(); s = G(fixed); G.train()
            save_grid(s, os.path.join(a.out, f"step_{step:06d}.png"))


if __name__ == "__main__":
    main()
