#!/usr/bin/env bash
# Builds the libFuzzer harness for the file-format parsers and runs it.
#   fuzz/run.sh [seconds]        (default 60; from anywhere)
# Output in fuzz-out/ (gitignored): the binary, the growing corpus, crash files.
set -euo pipefail
SECONDS_TO_RUN="${1:-60}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/fuzz-out"
mkdir -p "$OUT/modules" "$OUT/corpus" "$OUT/crashes"
cd "$ROOT"

# Tensors as its own module (the NN files `import Tensors`); ASan only, no
# coverage: the fuzzer should steer by the parsers' branches.
swiftc -parse-as-library -module-name Tensors -wmo -O -sanitize=address \
    -I Sources/CBLAS -emit-module -emit-module-path "$OUT/modules/Tensors.swiftmodule" \
    -c Sources/Tensors/*.swift -o "$OUT/Tensors.o"

swiftc -parse-as-library -module-name NNFuzz -O -sanitize=fuzzer,address \
    -I "$OUT/modules" -I Sources/CBLAS \
    Sources/NN/Safetensors.swift Sources/NN/NPY.swift fuzz/SafetensorsFuzz.swift \
    "$OUT/Tensors.o" -lopenblas -o "$OUT/format-fuzz"

# Seeds: small valid files, and their headers without the length prefix
# (the harness wraps inputs starting with '{').
F=Tests/NNTests/Fixtures
for f in "$F"/py_dtypes.safetensors "$F"/bare_sequential.safetensors; do
    [ -f "$f" ] || continue
    cp "$f" "$OUT/corpus/seed-$(basename "$f")"
    tail -c +9 "$f" > "$OUT/corpus/seed-body-$(basename "$f")"
done
for f in "$F"/z_f32.npy "$F"/z_f64.npy "$F"/z_1d.npy "$F"/z_fortran.npy; do
    [ -f "$f" ] && cp "$f" "$OUT/corpus/seed-$(basename "$f")"
done
printf '{"__metadata__":{"k":"v\\n\\u00e9"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}\x00\x00\x80\x3f' \
    > "$OUT/corpus/seed-small"

"$OUT/format-fuzz" "$OUT/corpus" -dict=fuzz/safetensors.dict -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$OUT/crashes/" -print_final_stats=1 \
    -max_total_time="$SECONDS_TO_RUN"
