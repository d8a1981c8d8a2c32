import NN
import Tensors

// The generator split G = G2 ∘ G1 of the DP-LaSE seed: G1 = layers 0..<j.
// Direction finders and readouts measure change in G1's features because a
// feature-space distance tracks what a picture shows better than pixels do.

extension NetworkSpec {
    /// The default split layer j: just before the parameterised layer that
    /// follows the middle one (after its batch norm and activation), so G1 ends
    /// in the middle of the generator. For DCGAN-like stacks of four blocks
    /// that is the 8×8 feature map. A network with one parameterised layer
    /// splits at its end (G1 = G).
    public var defaultSplitLayer: Int {
        let parameterised = layers.indices.filter { layers[$0].isParameterised }
        guard parameterised.count > 1 else { return layers.count }
        let middle = (parameterised.count + 1) / 2
        return parameterised[middle]
    }
}

extension LayerSpec {
    /// Layers with a weight matrix (linear, conv, conv-transpose).
    var isParameterised: Bool {
        switch self {
        case .linear, .conv2d, .convTranspose2d: true
        default: false
        }
    }
}

extension Network {
    /// G1(z): layers 0..<layer in evaluation mode. Records a graph only when
    /// `z` (or a parameter) requires gradients and recording is on.
    func features(_ z: Tensor, layer: Int) -> Tensor {
        self(z, training: false, layers: 0..<layer)
    }

    /// Runs `body` with the generator's parameters frozen: no graph is
    /// recorded for constant inputs and no weight is updated, while gradients
    /// still flow through the generator's ops to its input.
    func frozen<R>(_ body: () throws -> R) rethrows -> R {
        let trainable = parameters.filter(\.requiresGrad)
        for p in trainable { p.requiringGrad(false) }
        defer { for p in trainable { p.requiringGrad(true) } }
        return try body()
    }
}

/// Checks a user-given split layer against the generator (G1 needs at least one layer).
func checkSplitLayer(_ layer: Int, generator: Network) throws {
    let count = generator.spec.layers.count
    guard (1...count).contains(layer) else {
        throw InputError(.badArgument, key: "--layer",
                         "is \(layer); the generator has \(count) layers, so the split must be in 1…\(count)")
    }
}

/// Orthonormalises the rows of [k, d] (modified Gram–Schmidt in Double, in row
/// order, so earlier rows keep their direction). A row that is (numerically)
/// dependent on earlier ones is replaced by the first standard basis vector
/// that is not, so the result always has k orthonormal rows (k ≤ d).
func orthonormalizedRows(_ t: Tensor) -> Tensor {
    precondition(t.rank == 2 && t.shape[0] <= t.shape[1], "orthonormalise [k, d] with k ≤ d, got \(t.shape)")
    let (k, d) = (t.shape[0], t.shape[1])
    var rows: [[Double]] = (0..<k).map { i in t.storage[(i * d)..<((i + 1) * d)].map(Double.init) }
    var basis: [[Double]] = []
    func reduce(_ v: [Double]) -> [Double] {
        var v = v
        for _ in 0..<2 {  // twice is enough (Kahan–Parlett)
            for b in basis {
                var dot = 0.0
                for i in 0..<d { dot += v[i] * b[i] }
                for i in 0..<d { v[i] -= dot * b[i] }
            }
        }
        return v
    }
    for r in 0..<k {
        let original = rows[r].reduce(0) { $0 + $1 * $1 }.squareRoot()
        var v = reduce(rows[r])
        var norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if !(norm > 1e-6 * original) {
            // Some standard basis vector keeps at least 1/√d of its length
            // after removing fewer than d directions; take the first that does.
            for axis in 0..<d {
                var e = [Double](repeating: 0, count: d)
                e[axis] = 1
                v = reduce(e)
                norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm > 0.5 / Double(d).squareRoot() { break }
            }
        }
        rows[r] = v.map { $0 / norm }
        basis.append(rows[r])
    }
    return Tensor(shape: [k, d], storage: rows.flatMap { $0.map(Float.init) })
}

/// Rows scaled to unit length ([k, d]); zero rows stay zero.
func unitRows(_ t: Tensor) -> Tensor {
    let norms = (t.square().sum(axes: [1], keepDims: true) + 1e-30).sqrt()
    return t / norms
}

/// ‖DDᵀ − I‖_F for rows D [k, d]: how far a direction set is from orthonormal.
public func orthonormalityError(_ directions: Tensor) -> Float {
    withoutGrad {
        let k = directions.shape[0]
        let gram = matmul(directions, directions, transposeB: true)
        return (gram - identity(k)).square().sum().scalar.squareRoot()
    }
}

/// The [n, n] identity matrix.
func identity(_ n: Int) -> Tensor {
    var values = [Float](repeating: 0, count: n * n)
    for i in 0..<n { values[i * n + i] = 1 }
    return Tensor(shape: [n, n], storage: values)
}
