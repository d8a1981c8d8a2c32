import NN
import Tensors

/// A walk from z0 along one unit direction γ with a fixed stride ε per step
/// (seed 001): step s sits at offset s·ε. Step 0 is z0 in every mode.
///
/// Cheap to make and to query: the browser builds one per key press. Only the
/// density-corrected mode runs a network (C), once per batch of steps.
public struct Walk: Sendable {
    /// [1, d]
    public let z0: Tensor
    /// [1, d], unit length (the given direction is normalised).
    public let direction: Tensor
    public let stride: Float
    public let mode: WalkMode
    /// DP-LaSE's correction network C, present exactly in `.density` mode.
    private let correction: Network?

    /// - Parameters:
    ///   - z0: [1, d] or [d].
    ///   - direction: [1, d] or [d], any non-zero length.
    ///   - file: the checkpoint's path, for error messages.
    /// - Throws: `InputError(.missingData)` for `.density` when the checkpoint
    ///   has no C; `.badSpec` for an F or C of the wrong shape; `.badArgument`
    ///   for shapes, a zero direction or a non-finite stride.
    public init(checkpoint: Checkpoint, z0: Tensor, direction: Tensor, stride: Float, mode: WalkMode,
                file: String? = nil) throws {
        let d = checkpoint.latentDimension
        guard z0.count == d, z0.rank <= 2 else {
            throw InputError(.badArgument, key: "z0", "has shape \(z0.shape); the generator takes z of \(d) values")
        }
        guard direction.count == d, direction.rank <= 2 else {
            throw InputError(.badArgument, key: "direction", "has shape \(direction.shape), expected [\(d)]")
        }
        guard stride.isFinite else { throw InputError(.badArgument, key: "--stride", "must be a finite number, is \(stride)") }
        let length = direction.storage.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard length > 0, length.isFinite else {
            throw InputError(.badArgument, key: "direction", "has zero or non-finite length")
        }
        // Readouts run F on every coordinate; a malformed F is reported here,
        // where errors can be thrown, rather than trapping later.
        if let f = checkpoint.densityCDF { try checkDensitySpec(f.spec, file: file) }
        self.z0 = z0.detached().reshaped([1, d])
        self.direction = Tensor(shape: [1, d], storage: direction.storage.map { $0 / length })
        self.stride = stride
        self.mode = mode
        if mode == .density {
            guard let c = checkpoint.correction else {
                throw InputError(.missingData, file: file, key: "dplase.C",
                                 "the density-corrected walk needs the correction network C; run `latent-tui discover \(file ?? "CKPT") --method dplase` to add it")
            }
            try checkCorrectionSpec(c.spec, latentDimension: d, file: file)
            correction = c
        } else {
            correction = nil
        }
    }

    /// The latent at `step` (offset step·stride), [1, d].
    public func latent(at step: Int) -> Tensor {
        latents(offsets: [Float(step) * stride])
    }

    /// Latents for consecutive steps, [n, d] in step order.
    public func latents(steps: ClosedRange<Int>) -> Tensor {
        latents(offsets: steps.map { Float($0) * stride })
    }

    /// Latents at arbitrary offsets ε along the direction, [n, d]; one batched
    /// call of C in `.density` mode.
    public func latents(offsets: [Float]) -> Tensor {
        let n = offsets.count
        let d = z0.count
        return withoutGrad {
            let eps = Tensor(shape: [n, 1], storage: offsets)
            let linear = z0 + eps * direction                                   // (1) [n, d]
            let moved: Tensor
            switch mode {
            case .linear:
                return linear
            case .norm:                                                         // (2)
                let target = z0.square().sum(axes: [1], keepDims: true).sqrt()
                let norms = linear.square().sum(axes: [1], keepDims: true).sqrt().maximum(1e-30)
                moved = linear * (target / norms)
            case .density:                                                      // (6)
                guard let correction else { return linear }
                let starts = z0.expand(to: [n, d])
                moved = linear + densityCorrection(correction, z0: starts, offsets: eps,
                                                   directions: direction.expand(to: [n, d]))
            }
            // Offset 0 is z0 bit for bit; rounding in batched GEMMs would
            // otherwise leave the start a few ulps away.
            let start = eps.mask { $0 == 0 }
            return Tensor.select(start, z0.expand(to: [n, d]), moved)
        }
    }
}

/// The correction C̃(z0, ε, γ) = C(z0 + εγ, ε, γ) − C(z0, 0, γ) added in (6).
///
/// C is an MLP on 2d + 1 inputs (d outputs). Two choices make it learn fast
/// and behave: its first d inputs are the linear walk's point z0 + εγ rather
/// than z0 (the same information, but a correction that depends on where the
/// walk has got to need not learn the product εγ), and subtracting C at ε = 0
/// makes step 0 exactly z0. The file records the input convention in C's
/// spec (`"input"`). Training and walking both go through this function.
///
/// - Parameters: z0 [n, d], offsets [n, 1], directions [n, d] unit rows.
/// - Returns: [n, d]; differentiable in all inputs and in C's parameters.
func densityCorrection(_ c: Network, z0: Tensor, offsets: Tensor, directions: Tensor) -> Tensor {
    let n = z0.shape[0]
    let moved = Tensor.concat([z0 + offsets * directions, offsets, directions], axis: 1)
    let anchor = Tensor.concat([z0, Tensor.zeros([n, 1]), directions], axis: 1)
    let both = c(Tensor.concat([moved, anchor], axis: 0), training: false)      // one call: [2n, d]
    return both.slice(axis: 0, 0..<n) - both.slice(axis: 0, n..<(2 * n))
}

/// C must map 2d + 1 inputs to d outputs.
func checkCorrectionSpec(_ spec: NetworkSpec, latentDimension d: Int, file: String?) throws {
    let output = try? spec.shapes().last
    guard spec.inputSize == 2 * d + 1, spec.inputShape == nil || spec.inputShape == [2 * d + 1], output == [d] else {
        throw InputError(.badSpec, file: file, key: "dplase.C",
                         "must map \(2 * d + 1) inputs [z0, ε, γ] to \(d) outputs; run `latent-tui discover \(file ?? "CKPT") --method dplase` to retrain it")
    }
}

/// F must map one input to one output (it is applied to every coordinate).
func checkDensitySpec(_ spec: NetworkSpec, file: String?) throws {
    let output = try? spec.shapes().last
    guard spec.inputSize == 1, output == [1] else {
        throw InputError(.badSpec, file: file, key: "dplase.F",
                         "must map 1 input to 1 output (a CDF applied to each coordinate)")
    }
}
