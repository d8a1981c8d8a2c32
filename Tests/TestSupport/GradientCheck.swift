import Tensors
import XCTest

/// Finite-difference checks of first and second derivatives.
///
/// Losses are evaluated in float32, so central differences use a step of
/// about 1e-2 in input units and compare with a mixed absolute/relative
/// tolerance; inputs for ops with kinks are chosen away from the kinks.
public struct GradientCheck {
    public var step: Float = 1e-2
    public var relativeTolerance: Float = 2e-2
    public var absoluteTolerance: Float = 2e-3

    public init(step: Float = 1e-2, relativeTolerance: Float = 2e-2, absoluteTolerance: Float = 2e-3) {
        (self.step, self.relativeTolerance, self.absoluteTolerance) = (step, relativeTolerance, absoluteTolerance)
    }

    /// Largest violation |a − n| − (abs + rel·max(|a|,|n|)), ≤ 0 when within tolerance.
    public func worstError(_ analytic: [Float], _ numeric: [Float]) -> (excess: Float, index: Int) {
        var worst: (Float, Int) = (-.infinity, -1)
        for i in analytic.indices {
            let allowed = absoluteTolerance + relativeTolerance * max(abs(analytic[i]), abs(numeric[i]))
            let excess = abs(analytic[i] - numeric[i]) - allowed
            if excess > worst.0 || excess.isNaN { worst = (excess.isNaN ? .infinity : excess, i) }
        }
        return worst
    }

    /// Central-difference gradient of a scalar function of `inputs[which]`.
    /// `f` runs with gradient recording on, since it may itself take gradients
    /// (a gradient penalty); its inputs are fresh leaves that require grad.
    public func numericGradient(_ f: ([Tensor]) -> Tensor, _ inputs: [Tensor], which: Int) -> [Float] {
        let base = inputs[which].storage
        var result = [Float](repeating: 0, count: base.count)
        for i in base.indices {
            var plus = base, minus = base
            plus[i] += step
            minus[i] -= step
            let fPlus = f(replacing(inputs, which, plus)).scalar
            let fMinus = f(replacing(inputs, which, minus)).scalar
            result[i] = (fPlus - fMinus) / (2 * step)
        }
        return result
    }

    func replacing(_ inputs: [Tensor], _ which: Int, _ values: [Float]) -> [Tensor] {
        var copy = inputs.map { Tensor(shape: $0.shape, storage: $0.storage, requiresGrad: true) }
        copy[which] = Tensor(shape: inputs[which].shape, storage: values, requiresGrad: true)
        return copy
    }

    /// A failed comparison: which input, which element, both values.
    public struct Violation: CustomStringConvertible {
        public let input: Int, index: Int, analytic: Float, numeric: Float, excess: Float
        public var description: String {
            "input \(input) [\(index)]: analytic \(analytic) vs numeric \(numeric)"
        }
    }

    /// The worst disagreement between autodiff and central differences of ∂f/∂inputs, or nil.
    public func firstOrderViolation(_ inputs: [Tensor], _ f: ([Tensor]) -> Tensor) -> Violation? {
        let leaves = inputs.map { Tensor(shape: $0.shape, storage: $0.storage, requiresGrad: true) }
        let output = f(leaves)
        precondition(output.shape == [], "the checked function must return a scalar")
        let analytic = gradients(of: output, wrt: leaves)
        var worst: Violation?
        for which in inputs.indices {
            let numeric = numericGradient(f, inputs, which: which)
            let (excess, index) = worstError(analytic[which].storage, numeric)
            if excess > 0 && excess > (worst?.excess ?? 0) {
                worst = Violation(input: which, index: index, analytic: analytic[which].storage[index],
                                  numeric: numeric[index], excess: excess)
            }
        }
        return worst
    }

    /// The worst disagreement of a Hessian-vector product ∇(∇f · v) from double
    /// backward with (∇f(x + hv) − ∇f(x − hv)) / 2h, v random over all inputs.
    public func secondOrderViolation(_ inputs: [Tensor], seed: UInt64 = 7, _ f: ([Tensor]) -> Tensor) -> Violation? {
        var rng = RandomGenerator(seed: seed)
        let directions = inputs.map { Tensor.normal($0.shape, using: &rng) }
        let leaves = inputs.map { Tensor(shape: $0.shape, storage: $0.storage, requiresGrad: true) }
        let firstOrder = gradients(of: f(leaves), wrt: leaves, createGraph: true)
        var dot = Tensor(0)
        for (g, v) in zip(firstOrder, directions) { dot = dot + (g * v).sum() }
        let hvp = gradients(of: dot, wrt: leaves)

        func gradientAt(_ offset: Float) -> [[Float]] {
            let moved = zip(inputs, directions).map { x, v in
                Tensor(shape: x.shape, storage: zip(x.storage, v.storage).map { $0 + offset * $1 }, requiresGrad: true)
            }
            return gradients(of: f(moved), wrt: moved).map(\.storage)
        }
        let plus = gradientAt(step), minus = gradientAt(-step)
        var worst: Violation?
        for which in inputs.indices {
            let numeric = zip(plus[which], minus[which]).map { ($0 - $1) / (2 * step) }
            let (excess, index) = worstError(hvp[which].storage, numeric)
            if excess > 0 && excess > (worst?.excess ?? 0) {
                worst = Violation(input: which, index: index, analytic: hvp[which].storage[index],
                                  numeric: numeric[index], excess: excess)
            }
        }
        return worst
    }

    /// Asserts ∂f/∂inputs match central differences.
    public func check(_ name: String, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                      _ f: ([Tensor]) -> Tensor) {
        if let v = firstOrderViolation(inputs, f) { XCTFail("\(name): gradient \(v)", file: file, line: line) }
    }

    /// Asserts Hessian-vector products from double backward match differences of gradients.
    public func checkSecondOrder(_ name: String, _ inputs: [Tensor], seed: UInt64 = 7,
                                 file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
        if let v = secondOrderViolation(inputs, seed: seed, f) {
            XCTFail("\(name): Hessian-vector product \(v)", file: file, line: line)
        }
    }
}

/// Seeded random inputs for tests.
public func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return Tensor.normal(shape, std: scale, using: &rng)
}

/// Asserts two value lists agree within `tolerance` (absolute, scaled by max(1, |expected|)).
public func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ message: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(message): counts differ", file: file, line: line)
    var worst: Float = 0, at = 0
    for i in 0..<min(actual.count, expected.count) {
        let err = abs(actual[i] - expected[i]) / max(1, abs(expected[i]))
        if err > worst || err.isNaN { worst = err.isNaN ? .infinity : err; at = i }
    }
    XCTAssertLessThanOrEqual(worst, tolerance,
        "\(message): worst error \(worst) at \(at) (\(actual.isEmpty ? 0 : actual[at]) vs \(expected.isEmpty ? 0 : expected[at]))",
        file: file, line: line)
}
