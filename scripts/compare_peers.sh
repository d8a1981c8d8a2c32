#!/usr/bin/env bash
# Sets latent-bench's model rows against PyTorch and ONNX Runtime on this machine
# and prints a Markdown table on stdout (progress on stderr).
#
#   scripts/compare_peers.sh --python /work/venv-torch/bin/python [--threads N] [--rounds 3]
#                            [--repeats N] [--warmup N] [--only dcgan,shipped] [--out DIR] [--bench PATH]
#
# The two programs run alternately, latent-bench then bench_peers.py, `--rounds`
# times, with the same thread count, warm-up and repeats, so slow drift of a
# shared machine (other jobs, thermals) falls on both sides alike. Samples of
# all rounds are pooled per row; the table shows their median. Raw JSON stays in
# --out (default: a new temporary folder) to re-check or re-tabulate.
# Not part of `swift test`: it needs torch and onnxruntime, and minutes of quiet CPU.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
python=${PEERS_PYTHON:-python3}
threads=$(nproc)
rounds=3
repeats=""
warmup=2
only="dcgan,shipped"  # the rows bench_peers.py has
out=""
bench=""

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-64}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --python) python=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --repeats) repeats=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --bench) bench=$2; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "compare_peers: unknown argument $1" >&2; usage ;;
    esac
done

if ! "$python" -c "import torch, onnxruntime, onnx" 2>/dev/null; then
    echo "compare_peers: $python cannot import torch, onnx and onnxruntime; make a venv outside the repo:" >&2
    echo "  python3 -m venv ~/venv-torch && ~/venv-torch/bin/pip install torch onnx onnxruntime" >&2
    echo "  and pass --python ~/venv-torch/bin/python (or set PEERS_PYTHON)" >&2
    exit 2
fi

if [ -z "$bench" ]; then
    echo "compare_peers: building latent-bench (release)…" >&2
    (cd "$repo" && swift build -c release --product latent-bench >&2)
    bench="$(cd "$repo" && swift build -c release --show-bin-path)/latent-bench"
fi
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/compare_peers.XXXXXX")
mkdir -p "$out"

common=(--threads "$threads" --warmup "$warmup" --only "$only")
[ -n "$repeats" ] && common+=(--repeats "$repeats")

# How busy the CPUs are before we start (2 s of /proc/stat): other jobs make every figure,
# and OpenMP-based PyTorch above all, slower and noisier; the table says so.
cpu_busy() {
    local a b
    a=($(sed -n 's/^cpu  //p' /proc/stat)); sleep 2; b=($(sed -n 's/^cpu  //p' /proc/stat))
    local total=0 idle=$(( (b[3] + b[4]) - (a[3] + a[4]) )) i
    for i in "${!a[@]}"; do total=$(( total + b[i] - a[i] )); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
busy_before=$(cpu_busy)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$rounds"); do
    echo "compare_peers: round $round/$rounds · latent-bench" >&2
    "$bench" --json "${common[@]}" >"$out/latent-bench.$round.json"
    echo "compare_peers: round $round/$rounds · bench_peers.py" >&2
    "$python" "$here/bench_peers.py" "${common[@]}" >"$out/peers.$round.json"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

machine=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain -- Sources Package.swift 2>/dev/null | head -1)
swift_version=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([^ ]*\).*/\1/p' | head -1)

python3 - "$out" "$rounds" "$machine" "$(nproc)" "$commit${dirty:+ (modified)}" "${swift_version:-?}" \
    "$load_before" "$load_after" "$busy_before" <<'PY'
import glob, json, statistics, sys

out, rounds, machine, cores, commit, swift, load_before, load_after, busy = sys.argv[1:]
ours = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/latent-bench.*.json"))]
peers = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/peers.*.json"))]

def pool(docs, backend=None):
    """Per row id: all timed samples of all rounds, and the rows themselves (for the model figures)."""
    rows = {}
    for doc in docs:
        for r in doc["rows"]:
            if backend is None or r.get("backend") == backend:
                rows.setdefault(r["id"], []).append(r)
    return rows

lt, pt, ort = pool(ours), pool(peers, "pytorch"), pool(peers, "onnxruntime")
order = [rid for rid in lt] + [rid for rid in list(pt) + list(ort) if rid not in lt]
order = list(dict.fromkeys(order))

def median_ms(rows):
    if not rows:
        return None
    return statistics.median(s for r in rows for s in r["samples_s"]) * 1e3

def n(rows):
    return sum(len(r["samples_s"]) for r in rows) if rows else 0

def fmt(x):
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")

def ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.2f}"

v = peers[0]["versions"] if peers else {}
print(f"Measured {ours[0]['date'][:10]} on {machine} ({cores} cores), {ours[0]['threads']} threads, "
      f"{rounds} alternating rounds (latent-bench, then bench_peers.py), warm-up {ours[0]['warmup']}.  ")
print(f"latent-tui {commit}, Swift {swift}, BLAS {ours[0].get('blas_library') or '?'}; "
      f"PyTorch {v.get('torch')}, ONNX Runtime {v.get('onnxruntime')}, onnx {v.get('onnx')}, Python {v.get('python')}.  ")
print(f"Load average (1, 5, 15 min) before {load_before}, after {load_after}; CPUs {busy} % busy just before the first round.")
if int(busy) > 10:
    print()
    print(f"**Warning: other processes kept the CPUs {busy} % busy before the run: these figures are not "
          "representative (multi-threaded runs suffer most). Re-run on a quiet machine.**")
print()
print("| row | latent-tui ms | PyTorch ms | ORT ms | latent-tui / PyTorch | latent-tui / ORT |")
print("|---|---:|---:|---:|---:|---:|")
for rid in order:
    a, b, c = median_ms(lt.get(rid)), median_ms(pt.get(rid)), median_ms(ort.get(rid))
    counts = "/".join(str(n(x.get(rid))) for x in (lt, pt, ort) if x.get(rid))
    print(f"| `{rid}` (n {counts}) | {fmt(a)} | {fmt(b)} | {fmt(c)} | {ratio(a, b)} | {ratio(a, c)} |")
print()
print("Medians of all timed runs pooled over the rounds (n: runs per column); ratios above 1 mean latent-tui is slower.")

# Peak resident memory of the training steps (the high-water mark is reset at the start of each row).
train = [rid for rid in order if "-train-" in rid and (rid in lt or rid in pt)]
if train:
    def mem(rows):
        # Worst round: heap the allocator kept from earlier rows can shift a single round's figure.
        if not rows:
            return "—"
        peak = max(r["peak_rss_mib"] for r in rows)
        growth = max(r["peak_rss_mib"] - r.get("start_rss_mib", r["peak_rss_mib"]) for r in rows)
        return f"{peak:.0f} (+{growth:.0f})"
    print()
    print("| training step | latent-tui peak RSS MiB (+ growth in the row) | PyTorch peak RSS MiB (+ growth in the row) |")
    print("|---|---:|---:|")
    for rid in train:
        print(f"| `{rid}` | {mem(lt.get(rid))} | {mem(pt.get(rid))} |")

# Both sides must have timed the same models: compare their independent counts.
problems = []
for rid in order:
    mine = (lt.get(rid) or [{}])[0]
    for name, other in (("PyTorch", pt), ("ORT", ort)):
        theirs = (other.get(rid) or [None])[0]
        if theirs is None:
            continue
        for key in ("params_g", "params_d", "flops_per_sample_g", "flops_per_sample_d", "batch", "critic_steps"):
            if key in mine and key in theirs and mine[key] != theirs[key]:
                problems.append(f"{rid}: {key} latent-tui {mine[key]} vs {name} {theirs[key]}")
print()
if problems:
    print("**Model mismatch** (the rows above compare different work):")
    for p in problems:
        print(f"- {p}")
else:
    models = {}
    for rid, rows in lt.items():
        r = rows[0]
        if "flops_per_sample_g" in r:
            models[rid.split("-")[0]] = (r["params_g"], r["flops_per_sample_g"])
    desc = "; ".join(f"{m} G {p / 1e6:.2f} M params, {f / 1e6:.1f} MFLOP/sample" for m, (p, f) in models.items())
    print(f"Parameter counts and FLOPs agree on both sides ({desc}).")
PY
echo "compare_peers: raw JSON in $out" >&2
