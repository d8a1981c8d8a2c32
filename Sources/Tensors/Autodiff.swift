/// How a tensor was computed: the op's name, its inputs and the rule that maps
/// the gradient of the output to the gradients of the inputs.
///
/// Rules are written with the same public, differentiable ops the forward pass
/// uses. Run while recording (`createGraph: true`), they build a graph of their
/// own, which is what makes gradients of gradients work (WGAN-GP's penalty,
/// path length regularization).
struct Recipe {
    let op: String
    let inputs: [Tensor]
    /// (gradient of the output, the output itself) → one gradient per input
    /// (nil: no gradient). The output is passed in rather than captured so a
    /// tensor never owns a closure that owns the tensor.
    /// `needs[i]` says whether input i's gradient is wanted, so costly rules
    /// (a matmul's two products) can skip work nobody will read.
    let backward: (_ upstream: Tensor, _ output: Tensor, _ needs: [Bool]) -> [Tensor?]
}

/// Whether ops record their recipes. Thread-scoped, so the browser's render
/// thread can run a generator without graphs while nothing else is affected.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording any graph (inference, optimizer math).
@inlinable
public func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

extension Tensor {
    /// Makes the result of an op, recording its recipe when any input needs a gradient.
    static func result(shape: [Int], storage: [Float], op: String, inputs: [Tensor],
                       backward: @escaping (_ upstream: Tensor, _ output: Tensor, _ needs: [Bool]) -> [Tensor?]) -> Tensor {
        let records = GradMode.isEnabled && inputs.contains { $0.requiresGrad }
        return Tensor(shape: shape, storage: storage,
                      recipe: records ? Recipe(op: op, inputs: inputs, backward: backward) : nil)
    }

    /// The name of the op that made this tensor, or nil for a leaf.
    public var opName: String? { recipe?.op }
}

public enum AutodiffError: Error, CustomStringConvertible {
    case seedShapeMismatch(output: [Int], seed: [Int])

    public var description: String {
        switch self {
        case let .seedShapeMismatch(output, seed):
            "gradient seed of shape \(seed) does not match the output shape \(output)"
        }
    }
}

/// Reverse-mode gradients of `output` with respect to each tensor in `wrt`.
///
/// - Parameters:
///   - output: usually a scalar loss; otherwise pass `seed` (the vector in a
///     vector–Jacobian product, same shape as `output`).
///   - createGraph: when true the returned gradients carry their own graph and
///     can be differentiated again (PyTorch's `create_graph=True`).
/// - Returns: one gradient per `wrt` tensor, zeros where `output` does not depend on it.
public func gradients(of output: Tensor, wrt: [Tensor], seed: Tensor? = nil,
                      createGraph: Bool = false) -> [Tensor] {
    if let seed { precondition(seed.shape == output.shape, AutodiffError.seedShapeMismatch(output: output.shape, seed: seed.shape).description) }
    let targets = Set(wrt.map(ObjectIdentifier.init))

    // Post-order DFS (iterative: deep graphs would overflow the stack), keeping
    // only nodes from which some target is reachable.
    var order: [Tensor] = []
    var reaches: [ObjectIdentifier: Bool] = [:]
    var stack: [(Tensor, Bool)] = [(output, false)]
    while let (node, expanded) = stack.popLast() {
        let id = ObjectIdentifier(node)
        if expanded {
            var leads = targets.contains(id)
            if let recipe = node.recipe {
                for input in recipe.inputs where reaches[ObjectIdentifier(input)] == true { leads = true }
            }
            reaches[id] = leads
            if leads { order.append(node) }
            continue
        }
        if reaches[id] != nil { continue }
        reaches[id] = false  // visiting; final value set when expanded
        stack.append((node, true))
        if let recipe = node.recipe {
            for input in recipe.inputs where input.requiresGrad && reaches[ObjectIdentifier(input)] == nil {
                stack.append((input, false))
            }
        }
    }

    var grads: [ObjectIdentifier: Tensor] = [:]
    GradMode.$isEnabled.withValue(createGraph) {
        grads[ObjectIdentifier(output)] = seed ?? Tensor.ones(output.shape)
        for node in order.reversed() {
            guard let recipe = node.recipe, let upstream = grads[ObjectIdentifier(node)] else { continue }
            let needs = recipe.inputs.map { reaches[ObjectIdentifier($0)] == true }
            let inputGrads = recipe.backward(upstream, node, needs)
            for (input, grad) in zip(recipe.inputs, inputGrads) {
                guard let grad, reaches[ObjectIdentifier(input)] == true else { continue }
                precondition(grad.shape == input.shape,
                             "backward of \(recipe.op) gave \(grad.shape) for an input of shape \(input.shape)")
                let key = ObjectIdentifier(input)
                grads[key] = grads[key].map { $0 + grad } ?? grad
            }
            // Free intermediate gradients as soon as they are consumed.
            if !targets.contains(ObjectIdentifier(node)) { grads[ObjectIdentifier(node)] = nil }
        }
    }
    return wrt.map { grads[ObjectIdentifier($0)] ?? Tensor.zeros($0.shape) }
}

/// The value of `f()` and its gradients with respect to `wrt`.
public func valueWithGradients(wrt: [Tensor], createGraph: Bool = false,
                               _ f: () -> Tensor) -> (value: Tensor, gradients: [Tensor]) {
    let value = f()
    return (value, gradients(of: value, wrt: wrt, createGraph: createGraph))
}
