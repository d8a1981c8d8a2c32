import Foundation

/// Updates parameters in place from their gradients. Optimizers keep one state
/// buffer per parameter, in the order the parameters were given at creation.
public protocol Optimizer: AnyObject {
    var parameters: [Tensor] { get }
    var learningRate: Float { get set }
    /// One update; `gradients[i]` belongs to `parameters[i]`.
    func step(_ gradients: [Tensor])
    /// Moments and counters by name, for `--resume`.
    var state: [String: Tensor] { get }
    func loadState(_ state: [String: Tensor]) throws
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public let key: String
    public var description: String { "optimizer state \(key) is missing or has the wrong shape" }
}

extension Optimizer {
    func checkGradients(_ gradients: [Tensor]) {
        precondition(gradients.count == parameters.count, "\(gradients.count) gradients for \(parameters.count) parameters")
        for (p, g) in zip(parameters, gradients) {
            precondition(p.shape == g.shape, "gradient \(g.shape) for parameter \(p.shape)")
        }
    }

    /// Clamps every parameter to [−c, c] (WGAN weight clipping).
    public func clipParameters(_ c: Float) {
        for p in parameters { p.clampInPlace(-c, c) }
    }

    static func buffers(_ prefix: String, _ values: [[Float]], shapes: [[Int]]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, (v, s)) in zip(values, shapes).enumerated() { out["\(prefix).\(i)"] = Tensor(shape: s, storage: v) }
        return out
    }

    static func restore(_ prefix: String, from state: [String: Tensor], shapes: [[Int]]) throws -> [[Float]] {
        try shapes.enumerated().map { i, shape in
            let key = "\(prefix).\(i)"
            guard let t = state[key], t.shape == shape else { throw OptimizerStateError(key: key) }
            return t.storage
        }
    }
}

/// Stochastic gradient descent with (optionally Nesterov-free, heavy-ball) momentum.
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let momentum: Float
    private var velocity: [[Float]]

    public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        velocity = parameters.map { [Float](repeating: 0, count: $0.count) }
    }

    public func step(_ gradients: [Tensor]) {
        checkGradients(gradients)
        for (index, (p, g)) in zip(parameters, gradients).enumerated() {
            let (lr, mu) = (learningRate, momentum)
            velocity[index].withUnsafeMutableBufferPointer { v in
                g.withValues { gv in
                    p.update { pv in
                        for i in 0..<pv.count {
                            v[i] = mu * v[i] + gv[i]
                            pv[i] -= lr * v[i]
                        }
                    }
                }
            }
        }
    }

    public var state: [String: Tensor] { Self.buffers("velocity", velocity, shapes: parameters.map(\.shape)) }
    public func loadState(_ state: [String: Tensor]) throws {
        velocity = try Self.restore("velocity", from: state, shapes: parameters.map(\.shape))
    }
}

/// Adam (Kingma & Ba) with bias correction.
public final class Adam: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    private var firstMoment: [[Float]]
    private var secondMoment: [[Float]]
    public private(set) var stepCount = 0

    public init(_ parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        (self.beta1, self.beta2, self.epsilon) = (beta1, beta2, epsilon)
        firstMoment = parameters.map { [Float](repeating: 0, count: $0.count) }
        secondMoment = firstMoment
    }

    public func step(_ gradients: [Tensor]) {
        checkGradients(gradients)
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - Foundation.pow(beta1, t)
        let correction2 = 1 - Foundation.pow(beta2, t)
        let stepSize = learningRate / correction1
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for (index, (p, g)) in zip(parameters, gradients).enumerated() {
            firstMoment[index].withUnsafeMutableBufferPointer { m in
                secondMoment[index].withUnsafeMutableBufferPointer { v in
                    g.withValues { gv in
                        p.update { pv in
                            for i in 0..<pv.count {
                                m[i] = b1 * m[i] + (1 - b1) * gv[i]
                                v[i] = b2 * v[i] + (1 - b2) * gv[i] * gv[i]
                                pv[i] -= stepSize * m[i] / ((v[i] / correction2).squareRoot() + eps)
                            }
                        }
                    }
                }
            }
        }
    }

    public var state: [String: Tensor] {
        Self.buffers("m", firstMoment, shapes: parameters.map(\.shape))
            .merging(Self.buffers("v", secondMoment, shapes: parameters.map(\.shape))) { a, _ in a }
            .merging(["step": Tensor(Float(stepCount))]) { a, _ in a }
    }

    public func loadState(_ state: [String: Tensor]) throws {
        let shapes = parameters.map(\.shape)
        firstMoment = try Self.restore("m", from: state, shapes: shapes)
        secondMoment = try Self.restore("v", from: state, shapes: shapes)
        guard let step = state["step"], step.count == 1 else { throw OptimizerStateError(key: "step") }
        stepCount = Int(step.scalar)
    }
}

/// RMSProp as in PyTorch (no momentum, not centered): v ← αv + (1−α)g², p ← p − lr·g/(√v + ε).
public final class RMSProp: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let alpha: Float, epsilon: Float
    private var meanSquare: [[Float]]

    public init(_ parameters: [Tensor], learningRate: Float = 1e-2, alpha: Float = 0.99, epsilon: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        (self.alpha, self.epsilon) = (alpha, epsilon)
        meanSquare = parameters.map { [Float](repeating: 0, count: $0.count) }
    }

    public func step(_ gradients: [Tensor]) {
        checkGradients(gradients)
        let (lr, a, eps) = (learningRate, alpha, epsilon)
        for (index, (p, g)) in zip(parameters, gradients).enumerated() {
            meanSquare[index].withUnsafeMutableBufferPointer { v in
                g.withValues { gv in
                    p.update { pv in
                        for i in 0..<pv.count {
                            v[i] = a * v[i] + (1 - a) * gv[i] * gv[i]
                            pv[i] -= lr * gv[i] / (v[i].squareRoot() + eps)
                        }
                    }
                }
            }
        }
    }

    public var state: [String: Tensor] { Self.buffers("v", meanSquare, shapes: parameters.map(\.shape)) }
    public func loadState(_ state: [String: Tensor]) throws {
        meanSquare = try Self.restore("v", from: state, shapes: parameters.map(\.shape))
    }
}
