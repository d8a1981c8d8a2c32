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
        var out = [Float](repeating: 0, count: target.product)
        // Merge neighbouring axes that are both reduced or both kept, so the
        // common cases ([N, C, H, W] → [1, C, 1, 1], [N, F] → [1, F]) run as
        // a few long contiguous loops instead of an index walk per element.
        let padded = [Int](repeating: 1, count: shape.count - target.count) + target
        var groups: [(size: Int, reduced: Bool)] = []
        for (axis, size) in shape.enumerated() where size != 1 {
            let reduced = padded[axis] == 1
            if let last = groups.last, last.reduced == reduced {
                groups[groups.count - 1].size *= size
            } else {
                groups.append((size, reduced))
            }
        }
        out.withUnsafeMutableBufferPointer { po in
            storage.withUnsafeBufferPointer { pi in
                let groupShape = groups.map(\.size)
                let inStrides = Shapes.strides(groupShape)
                var outStrides = [Int](repeating: 0, count: groups.count)
                var running = 1
                for g in stride(from: groups.count - 1, through: 0, by: -1) where !groups[g].reduced {
                    outStrides[g] = running
                    running *= groups[g].size
                }
                guard let inner = groups.last else {
                    po[0] = pi.reduce(0, +)
                    return
                }
                let outer = groupShape.dropLast()
                let outerCount = outer.product
                var index = [Int](repeating: 0, count: outer.count)
                for _ in 0..<outerCount {
                    var src = 0, dst = 0
                    for (g, value) in index.enumerated() { src += value * inStrides[g]; dst += value * outStrides[g] }
                    if inner.reduced {
                        var acc: Float = 0
                        for k in 0..<inner.size { acc += pi[src + k] }
                        po[dst] += acc
                    } else {
                        for k in 0..<inner.size { po[dst + k] += pi[src + k] }
                    }
                    var axis = outer.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        if index[axis] < outer[axis] { break }
                        index[axis] = 0
                        axis -= 1
                    }
                }
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
