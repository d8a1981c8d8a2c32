"""Format fixtures for Tests/NNTests (safetensors and .npy written by Python).

Needs only numpy and safetensors (no torch). From the repo root:

    python3 scripts/make_malformed_corpus.py

Writes into Tests/NNTests/Fixtures/:

- py_dtypes.safetensors: written by safetensors' own serializer with tensors
  `f32` [2,3], `f16` [5] (incl. a subnormal and 65504), `bf16` [4] (numpy has
  no bfloat16: the bit patterns are passed to the serializer as dtype
  "bfloat16"), `f64` [2], `i64` [1] and metadata with quotes, backslashes,
  a newline and non-ASCII text.
- z_f32.npy [3,4] float32, z_f64.npy [2,5] float64, z_1d.npy [6] float32:
  valid latent files (np.save).
- z_fortran.npy (Fortran order), z_int.npy (int64), z_be.npy (big-endian
  float32), z_3d.npy (rank 3): files the reader must refuse.

The expected values are recomputed in the Swift tests from the formulas below
(`np.arange`-based), so the script and the tests must change together.
"""
import os

import numpy as np
import safetensors
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "NNTests", "Fixtures")


def main():
    os.makedirs(OUT, exist_ok=True)

    f32 = (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3)
    f16 = np.array([1.0, -2.5, 65504.0, 2.0 ** -24, 0.333251953125], dtype=np.float16)
    f64 = np.array([0.1, -1e10], dtype=np.float64)
    i64 = np.array([7], dtype=np.int64)
    meta = {"format": "latent-tui/1", "note": 'quote " backslash \\ newline \n unicode é ✓'}
    path = os.path.join(OUT, "py_dtypes.safetensors")
    save_file({"f32": f32, "f16": f16, "f64": f64, "i64": i64}, path, metadata=meta)

    # Re-serialize with a BF16 tensor added through the low-level API.
    bf16_values = np.array([1.0, -3.0, 0.15625, 1e30], dtype=np.float32)
    bf16_bits = (bf16_values.view(np.uint32) >> 16).astype(np.uint16)
    specs = {}
    keep = []
    for name, array in {"f32": f32, "f16": f16, "f64": f64, "i64": i64}.items():
        array = np.ascontiguousarray(array)
        keep.append(array)
        specs[name] = safetensors.TensorSpec(dtype=array.dtype.name, shape=array.shape,
                                             data_ptr=array.ctypes.data, data_len=array.nbytes)
    specs["bf16"] = safetensors.TensorSpec(dtype="bfloat16", shape=bf16_bits.shape,
                                           data_ptr=bf16_bits.ctypes.data, data_len=bf16_bits.nbytes)
    with open(path, "wb") as f:
        f.write(bytes(safetensors.serialize(specs, metadata=meta)))

    z = np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5
    np.save(os.path.join(OUT, "z_f32.npy"), z)
    np.save(os.path.join(OUT, "z_f64.npy"), (np.arange(10, dtype=np.float64).reshape(2, 5) - 4.5) / 3)
    np.save(os.path.join(OUT, "z_1d.npy"), np.arange(6, dtype=np.float32) - 2.5)
    np.save(os.path.join(OUT, "z_fortran.npy"), np.asfortranarray(z))
    np.save(os.path.join(OUT, "z_int.npy"), np.arange(6, dtype=np.int64).reshape(2, 3))
    np.save(os.path.join(OUT, "z_be.npy"), z.astype(">f4"))
    np.save(os.path.join(OUT, "z_3d.npy"), np.zeros((2, 2, 2), dtype=np.float32))


if __name__ == "__main__":
    main()
