// Reductions and their adjoint, broadcasting (expand ↔ sum-to-shape).

extension Tensor {
    /// Sum over all values (a scalar).
    public func sum() -> Tensor {
        let total = storage.withUnsafeBufferPointer { buffer -> Float in
            // Pairwise blocks keep float32 rounding error small on large tensors.
            var acc: Double = 0
            var i = 0
            while i < buffer.count {
                let end = Swift.min(i + 256, buffer.count)
                var block: Float = 0
                for j in i..<end { block += buffer[j] }
                acc += Double(block)
                i = end
            }
            return Float(acc)
        }
        return Tensor.result(shape: [], storage: [total], op: "sum", inputs: [self]) { g, _, _ in
            [g.expand(to: self.shape)]
        }
    }

    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Sum over the given axes (negative counts from the end).
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let resolved = Set(axes.map { Shapes.axis($0, rank: rank) })
        let keptShape = shape.enumerated().map { resolved.contains($0.offset) ? 1 : $0.element }
        let reduced = sum(toShape: keptShape)
        return keepDims ? reduced : reduced.reshaped(shape.enumerated().filter { !resolved.contains($0.offset) }.map(\.element))
    }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let resolved = Set(axes.map { Shapes.axis($0, rank: rank) })
        let n = resolved.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Sums away broadcast axes so the result has `target` shape (the adjoint of `expand`).
    public func sum(toShape target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(Shapes.broadcast(target, shape) == shape,
                     "cannot sum \(shape) down to \(target)")
        let total = target.product
        var out = [Float](repeating: 0, count: total)
        let outStrides = Shapes.broadcastStrides(target, to: shape)
        let ownStrides = Shapes.strides(shape)
        out.withUnsafeMutableBufferPointer { po in
            storage.withUnsafeBufferPointer { pi in
                walk(shape, ownStrides, outStrides) { _, oi, oo in po[oo] += pi[oi] }
            }
        }
        return Tensor.result(shape: target, storage: out, op: "sum_to_shape", inputs: [self]) { g, _, _ in
            [g.expand(to: self.shape)]
        }
    }

    /// Broadcasts to `target` by repeating values (the adjoint of `sum(toShape:)`).
    public func expand(to target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(Shapes.broadcast(shape, target) == target, "cannot expand \(shape) to \(target)")
        let total = target.product
        let inStrides = Shapes.broadcastStrides(shape, to: target)
        let outStrides = Shapes.strides(target)
        let out = [Float](unsafeUninitializedCapacity: total) { po, initialized in
            storage.withUnsafeBufferPointer { pi in
                walk(target, inStrides, outStrides) { _, oi, oo in po[oo] = pi[oi] }
            }
            initialized = total
        }
        return Tensor.result(shape: target, storage: out, op: "expand", inputs: [self]) { g, _, _ in
            [g.sum(toShape: self.shape)]
        }
    }

    /// Largest value (no gradient; for diagnostics and calibration).
    public var maxValue: Float { storage.max() ?? -.infinity }
    public var minValue: Float { storage.min() ?? .infinity }
}
