#!/usr/bin/env bash
# Copies trained checkpoints into checkpoints/, gives them directions from every
# method and a calibrated critic (for --drs), and renders the README's figures into assets/.
#   scripts/ship_checkpoints.sh RUN_CKPT NAME [dplase-steps]
# e.g. scripts/ship_checkpoints.sh runs/wgangp/shapes-wgangp.bin shapes-wgangp 1000
# The .state file is copied too, so training can continue with --resume.
set -euo pipefail
SRC="$1"; NAME="$2"; STEPS="${3:-1000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.build/release/latent-tui"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
CKPT="$ROOT/checkpoints/$NAME.bin"
mkdir -p "$ROOT/checkpoints" "$ROOT/assets"
cp "$SRC" "$CKPT"
cp "$SRC.state" "$CKPT.state"
for method in dplase sefa pca random; do
    "$BIN" discover "$CKPT" --method "$method" --k 8 --seed 1 --steps "$STEPS"
done
# Rejection sampling needs a critic with a logit (BEGAN's autoencoder has none).
"$BIN" calibrate "$CKPT" --data shapes --n 2048 --burn-in 4096 --seed 1 \
    || echo "no DRS calibration for $NAME: its critic has no logit"
rm -f "$CKPT.bak"
"$BIN" sample "$CKPT" --n 64 --seed 1 --out "$ROOT/assets/$NAME-samples.png" --force
tmp=$(mktemp -d)
"$BIN" export "$CKPT" --method dplase --direction 0 --mode linear --stride 0.75 --steps 4 --seed 3 \
    --grid --compare --out "$tmp/walk" --force
cp "$tmp/walk/grid.png" "$ROOT/assets/$NAME-dplase-grid.png"
cp "$tmp/walk/compare.png" "$ROOT/assets/$NAME-compare.png"
for method in sefa pca; do
    "$BIN" export "$CKPT" --method "$method" --direction 0 --mode linear --stride 0.75 --steps 4 --seed 3 \
        --grid --out "$tmp/$method" --force
    cp "$tmp/$method/grid.png" "$ROOT/assets/$NAME-$method-grid.png"
done
rm -rf "$tmp"
"$BIN" info "$CKPT" | tail -n 40
