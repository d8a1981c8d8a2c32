import Foundation

// Elementwise ops. Each primitive computes its values with a tight loop and
// states its gradient with other differentiable ops (see Autodiff.swift).

extension Tensor {
    /// Applies `f` to every value; the result carries `backward`.
    @inline(__always)
    func mapValues(op: String, _ f: (Float) -> Float,
                   backward: @escaping (_ upstream: Tensor, _ output: Tensor, _ needs: [Bool]) -> [Tensor?]) -> Tensor {
        let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            storage.withUnsafeBufferPointer { input in
                for i in 0..<input.count { buffer[i] = f(input[i]) }
            }
            initialized = count
        }
        return Tensor.result(shape: shape, storage: out, op: op, inputs: [self], backward: backward)
    }

    /// A constant (never differentiated) tensor of 1 where `predicate` holds, else 0.
    public func mask(_ predicate: (Float) -> Bool) -> Tensor {
        let values = storage.map { predicate($0) ? Float(1) : 0 }
        return Tensor(shape: shape, storage: values)
    }

    /// Combines two tensors with NumPy broadcasting.
    @inline(__always)
    static func zipValues(_ a: Tensor, _ b: Tensor, op: String, _ f: (Float, Float) -> Float,
                          backward: @escaping (_ upstream: Tensor, _ output: Tensor, _ needs: [Bool]) -> [Tensor?]) -> Tensor {
        guard let shape = Shapes.broadcast(a.shape, b.shape) else {
            preconditionFailure("\(op): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let total = shape.product
        let out = [Float](unsafeUninitializedCapacity: total) { buffer, initialized in
            a.storage.withUnsafeBufferPointer { pa in
                b.storage.withUnsafeBufferPointer { pb in
                    if a.shape == b.shape {
                        for i in 0..<total { buffer[i] = f(pa[i], pb[i]) }
                    } else if b.count == 1 {
                        let vb = pb[0]
                        for i in 0..<total { buffer[i] = f(pa[i], vb) }
                    } else if a.count == 1 {
                        let va = pa[0]
                        for i in 0..<total { buffer[i] = f(va, pb[i]) }
                    } else if a.shape == shape, let (outer, extent, inner) = Shapes.singleAxisBroadcast(b.shape, to: shape) {
                        // Per-channel operands ([1, C, 1, 1] against [N, C, H, W]): batch norm's pattern.
                        var i = 0
                        for _ in 0..<outer {
                            for k in 0..<extent {
                                let vb = pb[k]
                                for _ in 0..<inner { buffer[i] = f(pa[i], vb); i += 1 }
                            }
                        }
                    } else if b.shape == shape, let (outer, extent, inner) = Shapes.singleAxisBroadcast(a.shape, to: shape) {
                        var i = 0
                        for _ in 0..<outer {
                            for k in 0..<extent {
                                let va = pa[k]
                                for _ in 0..<inner { buffer[i] = f(va, pb[i]); i += 1 }
                            }
                        }
                    } else {
                        let sa = Shapes.broadcastStrides(a.shape, to: shape)
                        let sb = Shapes.broadcastStrides(b.shape, to: shape)
                        walk(shape, sa, sb) { i, oa, ob in buffer[i] = f(pa[oa], pb[ob]) }
                    }
                }
            }
            initialized = total
        }
        return result(shape: shape, storage: out, op: op, inputs: [a, b], backward: backward)
    }
}

// MARK: binary arithmetic with broadcasting

public func + (a: Tensor, b: Tensor) -> Tensor {
    Tensor.zipValues(a, b, op: "add", +) { g, _, needs in
        [needs[0] ? g.sum(toShape: a.shape) : nil, needs[1] ? g.sum(toShape: b.shape) : nil]
    }
}

public func - (a: Tensor, b: Tensor) -> Tensor {
    Tensor.zipValues(a, b, op: "sub", -) { g, _, needs in
        [needs[0] ? g.sum(toShape: a.shape) : nil, needs[1] ? (-g).sum(toShape: b.shape) : nil]
    }
}

public func * (a: Tensor, b: Tensor) -> Tensor {
    Tensor.zipValues(a, b, op: "mul", *) { g, _, needs in
        [needs[0] ? (g * b).sum(toShape: a.shape) : nil, needs[1] ? (g * a).sum(toShape: b.shape) : nil]
    }
}

public func / (a: Tensor, b: Tensor) -> Tensor {
    Tensor.zipValues(a, b, op: "div", /) { g, _, needs in
        [needs[0] ? (g / b).sum(toShape: a.shape) : nil, needs[1] ? (-(g * a) / (b * b)).sum(toShape: b.shape) : nil]
    }
}

public prefix func - (x: Tensor) -> Tensor {
    x.mapValues(op: "neg", { -$0 }) { g, _, _ in [-g] }
}

// MARK: arithmetic with a constant

public func + (x: Tensor, c: Float) -> Tensor { x.mapValues(op: "add_scalar", { $0 + c }) { g, _, _ in [g] } }
public func + (c: Float, x: Tensor) -> Tensor { x + c }
public func - (x: Tensor, c: Float) -> Tensor { x + (-c) }
public func - (c: Float, x: Tensor) -> Tensor { x.mapValues(op: "rsub_scalar", { c - $0 }) { g, _, _ in [-g] } }
public func * (x: Tensor, c: Float) -> Tensor { x.mapValues(op: "mul_scalar", { $0 * c }) { g, _, _ in [g * c] } }
public func * (c: Float, x: Tensor) -> Tensor { x * c }
public func / (x: Tensor, c: Float) -> Tensor { x * (1 / c) }
public func / (c: Float, x: Tensor) -> Tensor {
    x.mapValues(op: "rdiv_scalar", { c / $0 }) { g, _, _ in [-(g * c) / x.square()] }
}

// MARK: unary functions

extension Tensor {
    public func exp() -> Tensor {
        mapValues(op: "exp", { Foundation.exp($0) }) { g, y, _ in [g * y] }
    }

    public func log() -> Tensor {
        mapValues(op: "log", { Foundation.log($0) }) { g, _, _ in [g / self] }
    }

    public func sqrt() -> Tensor {
        mapValues(op: "sqrt", { $0.squareRoot() }) { g, y, _ in [g / (y * 2)] }
    }

    /// `x^p` for a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        mapValues(op: "pow", { Foundation.pow($0, p) }) { g, _, _ in [g * self.pow(p - 1) * p] }
    }

    public func square() -> Tensor {
        mapValues(op: "square", { $0 * $0 }) { g, _, _ in [g * self * 2] }
    }

    public func abs() -> Tensor {
        mapValues(op: "abs", { Swift.abs($0) }) { g, _, _ in
            [g * self.mask { $0 > 0 } - g * self.mask { $0 < 0 }]
        }
    }

    public func relu() -> Tensor {
        mapValues(op: "relu", { $0 > 0 ? $0 : 0 }) { g, _, _ in [g.scaledBySlope(of: self, negativeSlope: 0)] }
    }

    public func leakyRelu(_ slope: Float = 0.01) -> Tensor {
        mapValues(op: "leaky_relu", { $0 > 0 ? $0 : slope * $0 }) { g, _, _ in
            [g.scaledBySlope(of: self, negativeSlope: slope)]
        }
    }

    /// `self` times the (leaky) ReLU's slope at `x`: 1 where x > 0, else `negativeSlope`.
    /// The backward pass of both activations in one loop instead of a mask, a map and
    /// a product. `x` is a constant here because the slope is piecewise constant, so
    /// the op is linear in `self` and is its own gradient (the penalty's double backward).
    func scaledBySlope(of x: Tensor, negativeSlope: Float) -> Tensor {
        precondition(shape == x.shape, "slope scaling: \(shape) against \(x.shape)")
        let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            storage.withUnsafeBufferPointer { pg in
                x.storage.withUnsafeBufferPointer { px in
                    for i in 0..<pg.count { buffer[i] = px[i] > 0 ? pg[i] : pg[i] * negativeSlope }
                }
            }
            initialized = count
        }
        return Tensor.result(shape: shape, storage: out, op: "slope_scale", inputs: [self]) { g, _, _ in
            [g.scaledBySlope(of: x, negativeSlope: negativeSlope)]
        }
    }

    /// ELU: x for x > 0, α(eˣ − 1) otherwise.
    public func elu(_ alpha: Float = 1) -> Tensor {
        mapValues(op: "elu", { $0 > 0 ? $0 : alpha * (Foundation.exp($0) - 1) }) { g, y, _ in
            let positive = self.mask { $0 > 0 }
            // d/dx = 1 where x > 0, else y + α; written with y so it differentiates again.
            return [g * (positive + (1 - positive) * (y + alpha))]
        }
    }

    public func tanh() -> Tensor {
        mapValues(op: "tanh", fastTanh) { g, y, _ in [g * (1 - y.square())] }
    }

    public func sigmoid() -> Tensor {
        mapValues(op: "sigmoid", { x in
            x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
        }) { g, y, _ in [g * y * (1 - y)] }
    }

    /// log(1 + eˣ), computed without overflow.
    public func softplus() -> Tensor {
        mapValues(op: "softplus", { x in
            Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x)))
        }) { g, _, _ in [g * self.sigmoid()] }
    }

    public func clamp(_ lo: Float, _ hi: Float) -> Tensor {
        mapValues(op: "clamp", { Swift.min(Swift.max($0, lo), hi) }) { g, _, _ in
            [g * self.mask { $0 >= lo && $0 <= hi }]
        }
    }

    /// `condition ? a : b` elementwise, with `condition` a constant 0/1 mask.
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let c = condition.detached()
        return c * a + (1 - c) * b
    }
}

/// Elementwise maximum/minimum of a tensor and a constant, as used by hinge losses.
extension Tensor {
    public func maximum(_ c: Float) -> Tensor { (self - c).relu() + c }
}

/// tanh within 3e-7 relative error (2 ulp) of glibc's `tanhf` at about a third of
/// its cost: a generator's output layer spent 4 % of a training step in tanhf.
/// Odd Taylor series to x⁹ near 0 (where 1 − e loses digits), else (1 − e)/(1 + e)
/// with e = exp(−2|x|), which cannot overflow.
@inline(__always)
public func fastTanh(_ x: Float) -> Float {
    let magnitude = Swift.abs(x)
    if magnitude < 0.2 {
        let s = x * x
        return x * (1 + s * (-1 / 3 + s * (2 / 15 + s * (-17 / 315 + s * (62 / 2835)))))
    }
    let e = Foundation.exp(-2 * magnitude)
    let t = (1 - e) / (1 + e)
    return x < 0 ? -t : t
}
