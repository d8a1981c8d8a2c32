#!/usr/bin/env bash
# Trains every objective on `shapes` for the same wall-clock budget, evaluates
# each run, and prints a Markdown table for the README.
#   scripts/compare_objectives.sh [minutes-per-run] [output-folder]
# Runs two trainings at a time with one thread each (two cores); build first:
#   swift build -c release
set -euo pipefail
MINUTES="${1:-4}"
OUT="${2:-runs/objectives}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${LATENT_TUI:-$ROOT/.build/release/latent-tui}"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1

train() {  # objective, extra flags...
    local objective="$1"; shift
    "$BIN" train --objective "$objective" --width 64 --latent-dim 64 --steps 1000000 --seed 11 \
        --minutes "$MINUTES" --threads 1 --sample-every 100000 --checkpoint-every 100000 --force \
        --out "$OUT/$objective/model.bin" "$@" > "$OUT/$objective.log" 2>&1
}

objectives=(wgan wgan-gp began san ns)
for ((i = 0; i < ${#objectives[@]}; i += 2)); do
    train "${objectives[$i]}" &
    if (( i + 1 < ${#objectives[@]} )); then train "${objectives[$((i + 1))]}" & fi
    wait
done

echo "| objective | steps in ${MINUTES} min | Fréchet | precision | recall | clean | dataset clean | n |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for objective in "${objectives[@]}"; do
    ckpt="$OUT/$objective/model.bin"
    steps=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]+'.state','rb').read()[8:8+int.from_bytes(open(sys.argv[1]+'.state','rb').read()[:8],'little')].decode())['__metadata__']['step'])" "$ckpt")
    row=$("$BIN" evaluate "$ckpt" --data shapes --n 1000 --threads 2 --json | python3 -c "
import json, sys
r = json.load(sys.stdin)
print('| %.4f | %.3f | %.3f | %.3f | %.3f | %d |' % (r['frechet'], r['precision'], r['recall'], r['clean_fraction'], r['real_clean_fraction'], r['generated_count']))")
    echo "| $objective | $steps $row"
done
