#!/usr/bin/env bash
# Screenshot of the browser: runs latent-tui in a detached 120×40 tmux session
# (truecolor), types a few keys, captures the screen with its colours and
# renders it to a PNG with scripts/ansi_to_png.py.
#
#   scripts/browser_screenshot.sh CKPT [OUT.png] [SEED]
#
# CKPT needs directions (DP-LaSE gives the density walk and the learned
# density readout). Env: LATENT_TUI (binary, default .build/release/latent-tui),
# PYTHON (with Pillow, default /work/venv-img/bin/python if present, else python3),
# KEYS (tmux key names sent one by one; default: density walk, a few steps).
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=$(realpath "${1:?usage: $0 CKPT [OUT.png] [SEED]}")
out=${2:-assets/browser.png}
seed=${3:-7}
bin=$(realpath "${LATENT_TUI:-.build/release/latent-tui}")
python=${PYTHON:-$([ -x /work/venv-img/bin/python ] && echo /work/venv-img/bin/python || echo python3)}
keys=${KEYS:-"m m Left Left Right Right Right Right Right Right Left Left Left"}

work=$(mktemp -d)
socket="latent-shot-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
# Writes (e, s, …) land in the scratch folder, not here.
tmux -L "$socket" -f /dev/null new-session -d -s shot -x 120 -y 40 \
    "cd '$work' && env TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 '$bin' '$ckpt' --seed $seed"
sleep 2
for key in $keys; do
    tmux -L "$socket" send-keys -t shot "$key"
    sleep 0.3   # one frame per key, so the drift sparkline shows every step
done
sleep 1
tmux -L "$socket" capture-pane -p -e -t shot > "$work/screen.ans"
tmux -L "$socket" send-keys -t shot q
"$python" scripts/ansi_to_png.py "$work/screen.ans" -o "$out"
