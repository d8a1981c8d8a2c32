/// Shape arithmetic shared by the ops.
enum Shapes {
    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// NumPy broadcasting of two shapes, or nil when they are incompatible.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides for reading `shape` as if broadcast to `target` (0 on broadcast axes).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { axis in
            axis < offset || shape[axis - offset] == 1 ? 0 : own[axis - offset]
        }
    }

    /// Normalises a possibly negative axis.
    static func axis(_ axis: Int, rank: Int) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        precondition(resolved >= 0 && resolved < rank, "axis \(axis) out of range for rank \(rank)")
        return resolved
    }
}

extension Shapes {
    /// When `small` broadcasts to `shape` along exactly one axis (every other
    /// extent 1, after left-padding), the split of `shape` around that axis.
    static func singleAxisBroadcast(_ small: [Int], to shape: [Int]) -> (outer: Int, extent: Int, inner: Int)? {
        guard small.count <= shape.count else { return nil }
        let padded = [Int](repeating: 1, count: shape.count - small.count) + small
        var axis: Int?
        for (k, extent) in padded.enumerated() where extent != 1 {
            guard extent == shape[k], axis == nil else { return nil }
            axis = k
        }
        guard let axis else { return nil }
        return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }
}

/// Visits every index of `shape` in row-major order, passing the matching
/// offsets into up to two strided operands. The innermost axis runs as a
/// plain loop so the closure inlines into it.
@inline(__always)
func walk(_ shape: [Int], _ stridesA: [Int], _ stridesB: [Int],
          _ body: (_ index: Int, _ offsetA: Int, _ offsetB: Int) -> Void) {
    let rank = shape.count
    let total = shape.product
    if total == 0 { return }
    if rank == 0 { body(0, 0, 0); return }
    let inner = shape[rank - 1]
    let innerA = stridesA[rank - 1], innerB = stridesB[rank - 1]
    var counter = [Int](repeating: 0, count: rank)
    var baseA = 0, baseB = 0, index = 0
    while index < total {
        var a = baseA, b = baseB
        for _ in 0..<inner {
            body(index, a, b)
            index += 1
            a += innerA
            b += innerB
        }
        // Odometer over the outer axes.
        var axis = rank - 2
        while axis >= 0 {
            counter[axis] += 1
            baseA += stridesA[axis]
            baseB += stridesB[axis]
            if counter[axis] < shape[axis] { break }
            baseA -= stridesA[axis] * shape[axis]
            baseB -= stridesB[axis] * shape[axis]
            counter[axis] = 0
            axis -= 1
        }
    }
}
