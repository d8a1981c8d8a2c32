import Tensors
import TestSupport
import XCTest

final class OptimizerTests: XCTestCase {
    /// f(p) = Σ cᵢ (pᵢ − tᵢ)²: a badly scaled quadratic with its minimum at t.
    func quadraticLoss(_ p: Tensor) -> Tensor {
        let target = Tensor([1, -2, 0.5, 3])
        let curvature = Tensor([1, 10, 0.5, 4])
        return ((p - target).square() * curvature).sum()
    }

    func run(_ makeOptimizer: (Tensor) -> Optimizer, steps: Int) -> [Float] {
        let p = Tensor.zeros([4]).requiringGrad()
        let optimizer = makeOptimizer(p)
        for _ in 0..<steps {
            optimizer.step(gradients(of: quadraticLoss(p), wrt: [p]))
        }
        return p.storage
    }

    func testOptimizersMinimizeAQuadratic() {
        let target: [Float] = [1, -2, 0.5, 3]
        assertClose(run({ SGD([$0], learningRate: 0.02, momentum: 0.9) }, steps: 600), target, tolerance: 1e-3, "SGD+momentum")
        assertClose(run({ Adam([$0], learningRate: 0.05) }, steps: 1500), target, tolerance: 1e-3, "Adam")
        assertClose(run({ RMSProp([$0], learningRate: 0.01) }, steps: 1500), target, tolerance: 2e-2, "RMSProp")
    }

    func testFirstStepsMatchHandComputedValues() {
        // Adam's first step moves every coordinate by lr·sign(g) (bias correction).
        let p = Tensor([0.5, -1]).requiringGrad()
        let adam = Adam([p], learningRate: 0.1)
        adam.step([Tensor([2, -0.001])])
        assertClose(p.storage, [0.4, -0.9], tolerance: 1e-4, "Adam step 1")
        // RMSProp: v = (1−α)g², so the step is lr·g/√((1−α)g²) = lr/√(1−α)·sign(g).
        let q = Tensor([0, 0]).requiringGrad()
        let rms = RMSProp([q], learningRate: 0.01, alpha: 0.99)
        rms.step([Tensor([3, -5])])
        assertClose(q.storage, [-0.1, 0.1], tolerance: 1e-4, "RMSProp step 1")
        // SGD momentum: v₁ = g, v₂ = μg + g.
        let r = Tensor([0]).requiringGrad()
        let sgd = SGD([r], learningRate: 0.1, momentum: 0.5)
        sgd.step([Tensor([1])])
        sgd.step([Tensor([1])])
        assertClose(r.storage, [-0.1 - 0.15], tolerance: 1e-6, "SGD two steps")
    }

    func testClippingAndStateRoundTrip() throws {
        let p = Tensor([0.5, -0.02, 0.003]).requiringGrad()
        let adam = Adam([p], learningRate: 0.01)
        adam.clipParameters(0.01)
        XCTAssertEqual(p.storage, [0.01, -0.01, 0.003])
        adam.step([Tensor([1, 2, 3])])
        let restored = Adam([p.detached().requiringGrad()], learningRate: 0.01)
        try restored.loadState(adam.state)
        XCTAssertEqual(restored.stepCount, 1)
        XCTAssertThrowsError(try restored.loadState([:]))
    }
}
