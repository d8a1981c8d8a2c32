// Shape ops. Reshape shares storage (arrays are copy-on-write); permute,
// slice, pad and concat copy. Adjoint pairs: permute ↔ inverse permute,
// slice ↔ pad, concat ↔ slices.

extension Tensor {
    /// Same values, new shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).product
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[hole] = count / known
        }
        precondition(target.product == count, "cannot reshape \(shape) to \(newShape)")
        if target == shape { return self }
        return Tensor.result(shape: target, storage: storage, op: "reshape", inputs: [self]) { g, _, _ in
            [g.reshaped(self.shape)]
        }
    }

    /// Reorders axes: result axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permutation \(order) for rank \(rank)")
        if order == Array(0..<rank) { return self }
        let target = order.map { shape[$0] }
        let ownStrides = Shapes.strides(shape)
        // Merge neighbouring output axes that are also contiguous in the input (and
        // drop size-1 axes), so a convolution's [O, N, H, W] → [N, O, H, W] copies
        // whole planes instead of stepping the odometer every row.
        var sizes: [Int] = [], readStrides: [Int] = []
        for axis in order where shape[axis] != 1 {
            if let outer = readStrides.last, outer == ownStrides[axis] * shape[axis] {
                sizes[sizes.count - 1] *= shape[axis]
                readStrides[readStrides.count - 1] = ownStrides[axis]
            } else {
                sizes.append(shape[axis])
                readStrides.append(ownStrides[axis])
            }
        }
        let total = count
        let out = [Float](unsafeUninitializedCapacity: total) { po, initialized in
            storage.withUnsafeBufferPointer { pi in
                guard let run = sizes.last, readStrides.last == 1 else {
                    walk(sizes, readStrides, readStrides) { i, oi, _ in po[i] = pi[oi] }
                    return
                }
                let outer = Array(sizes.dropLast()), outerStrides = Array(readStrides.dropLast())
                walk(outer, outerStrides, outerStrides) { i, oi, _ in
                    (po.baseAddress! + i * run).update(from: pi.baseAddress! + oi, count: run)
                }
            }
            initialized = total
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return Tensor.result(shape: target, storage: out, op: "permute", inputs: [self]) { g, _, _ in
            [g.permuted(inverse)]
        }
    }

    /// Swaps the last two axes.
    public var transposed: Tensor {
        precondition(rank >= 2, "transpose needs rank ≥ 2")
        var order = Array(0..<rank)
        order.swapAt(rank - 1, rank - 2)
        return permuted(order)
    }

    /// Collapses axes from `startAxis` on into one.
    public func flattened(from startAxis: Int = 1) -> Tensor {
        reshaped(Array(shape[..<startAxis]) + [shape[startAxis...].product])
    }

    /// A sub-block: one range per leading axis (missing trailing axes are whole).
    public func slice(_ ranges: [Range<Int>]) -> Tensor {
        precondition(ranges.count <= rank, "slice with \(ranges.count) ranges on rank \(rank)")
        let full = (0..<rank).map { $0 < ranges.count ? ranges[$0] : 0..<shape[$0] }
        for (axis, range) in full.enumerated() {
            precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis],
                         "slice \(range) out of bounds for axis \(axis) of \(shape)")
        }
        let target = full.map(\.count)
        if target == shape { return self }
        let ownStrides = Shapes.strides(shape)
        let start = zip(full, ownStrides).reduce(0) { $0 + $1.0.lowerBound * $1.1 }
        let total = target.product
        let out = [Float](unsafeUninitializedCapacity: total) { po, initialized in
            storage.withUnsafeBufferPointer { pi in
                walk(target, ownStrides, ownStrides) { i, oi, _ in po[i] = pi[start + oi] }
            }
            initialized = total
        }
        let widths = zip(full, shape).map { ($0.lowerBound, $1 - $0.upperBound) }
        return Tensor.result(shape: target, storage: out, op: "slice", inputs: [self]) { g, _, _ in
            [g.padded(widths)]
        }
    }

    /// Slice along one axis.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = Shapes.axis(axis, rank: rank)
        return slice((0...a).map { $0 == a ? range : 0..<shape[$0] })
    }

    /// Pads with a constant: `widths[i]` = (before, after) for axis i.
    public func padded(_ widths: [(Int, Int)], value: Float = 0) -> Tensor {
        precondition(widths.count == rank, "pad needs one (before, after) per axis")
        precondition(widths.allSatisfy { $0.0 >= 0 && $0.1 >= 0 }, "negative padding")
        if widths.allSatisfy({ $0 == (0, 0) }) { return self }
        let target = zip(shape, widths).map { $0 + $1.0 + $1.1 }
        var out = [Float](repeating: value, count: target.product)
        let outStrides = Shapes.strides(target)
        let start = zip(widths, outStrides).reduce(0) { $0 + $1.0.0 * $1.1 }
        out.withUnsafeMutableBufferPointer { po in
            storage.withUnsafeBufferPointer { pi in
                walk(shape, outStrides, outStrides) { i, oo, _ in po[start + oo] = pi[i] }
            }
        }
        let ranges = zip(widths, shape).map { $0.0 ..< $0.0 + $1 }
        return Tensor.result(shape: target, storage: out, op: "pad", inputs: [self]) { g, _, _ in
            [g.slice(ranges)]
        }
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of nothing")
        let rank = parts[0].rank
        let a = Shapes.axis(axis, rank: rank)
        for part in parts {
            precondition(part.rank == rank && (0..<rank).allSatisfy { $0 == a || part.shape[$0] == parts[0].shape[$0] },
                         "concat: \(part.shape) does not match \(parts[0].shape) outside axis \(a)")
        }
        var target = parts[0].shape
        target[a] = parts.reduce(0) { $0 + $1.shape[a] }
        let outer = target[..<a].product
        let innerTotal = target[a...].product
        var out = [Float](repeating: 0, count: target.product)
        var offset = 0
        out.withUnsafeMutableBufferPointer { po in
            for part in parts {
                let chunk = part.shape[a...].product
                part.storage.withUnsafeBufferPointer { pi in
                    for o in 0..<outer {
                        for j in 0..<chunk { po[o * innerTotal + offset + j] = pi[o * chunk + j] }
                    }
                }
                offset += chunk
            }
        }
        var bounds: [Range<Int>] = []
        var start = 0
        for part in parts {
            bounds.append(start ..< start + part.shape[a])
            start += part.shape[a]
        }
        return result(shape: target, storage: out, op: "concat", inputs: parts) { g, _, _ in
            bounds.map { g.slice(axis: a, $0) }
        }
    }
}
