import Foundation
import Tensors

// Inference without autodiff: a network's layers in evaluation mode, compiled
// once into a few fused steps that run on reused workspaces. Batch norm is
// folded into the weights of the linear/conv layer before it, bias and
// activation are applied in one pass while the output is still in cache, and
// no step allocates except the returned tensor. The browser, `sample`,
// `evaluate` and every other no-grad forward pass go through here; training
// and anything that needs gradients keeps the differentiable ops.

/// An activation applied in the same pass as the bias of the layer before it.
enum FusedActivation: Equatable {
    case none, relu, leakyRelu(Float), elu(Float), tanh, sigmoid

    init?(_ layer: LayerSpec) {
        switch layer {
        case .relu: self = .relu
        case let .leakyRelu(slope): self = .leakyRelu(slope)
        case let .elu(alpha): self = .elu(alpha)
        case .tanh: self = .tanh
        case .sigmoid: self = .sigmoid
        default: return nil
        }
    }
}

/// y = act(x · scale[c] + shift[c]); scale and shift absent mean 1 and 0.
struct Epilogue {
    var scale: [Float]?
    var shift: [Float]?
    var activation: FusedActivation = .none

    var isIdentity: Bool { scale == nil && shift == nil && activation == .none }

    /// `count` values of channel `channel` from `src` to `dst` (which may be `src`).
    func apply(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int, channel: Int) {
        let a = scale?[channel] ?? 1, b = shift?[channel] ?? 0
        withActivation { f in affineMap(src, dst, count, a, b, f) }
    }

    /// A [rows, features] matrix whose channel is the feature (linear layers).
    func applyRows(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, features: Int) {
        let ones = scale == nil ? [Float](repeating: 1, count: features) : nil
        let zeros = shift == nil ? [Float](repeating: 0, count: features) : nil
        (scale ?? ones!).withUnsafeBufferPointer { a in
            (shift ?? zeros!).withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    withActivation { f in
                        vectorMap(src + r * features, dst + r * features, features, a.baseAddress!, b.baseAddress!, f)
                    }
                }
            }
        }
    }

    /// Calls `body` with the activation as a closure literal, so that each case's
    /// loop is compiled with the activation inlined (one switch per call, not per value).
    @inline(__always)
    private func withActivation(_ body: ((Float) -> Float) -> Void) {
        switch activation {
        case .none: body { $0 }
        case .relu: body { Swift.max($0, 0) }
        case let .leakyRelu(slope): body { $0 > 0 ? $0 : $0 * slope }
        case let .elu(alpha): body { $0 > 0 ? $0 : alpha * (Foundation.exp($0) - 1) }
        case .tanh: body(fastTanh)
        case .sigmoid: body { 1 / (1 + Foundation.exp(-$0)) }
        }
    }
}

@inline(__always)
private func affineMap(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int,
                       _ a: Float, _ b: Float, _ f: (Float) -> Float) {
    for i in 0..<count { dst[i] = f(src[i] * a + b) }
}

@inline(__always)
private func vectorMap(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int,
                       _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ f: (Float) -> Float) {
    for i in 0..<count { dst[i] = f(src[i] * a[i] + b[i]) }
}

/// One fused step of a plan. Sizes are per sample; `n` comes at run time.
enum InferenceStep {
    /// x [rows, inFeatures] · Wᵀ, then the epilogue per feature.
    case linear(weight: [Float], inFeatures: Int, outFeatures: Int, epilogue: Epilogue)
    /// im2col + one GEMM with W [O, C·k·k], epilogue per output channel.
    case conv(weight: [Float], input: (c: Int, h: Int, w: Int), output: (c: Int, h: Int, w: Int),
              geometry: ConvGeometry, epilogue: Epilogue)
    /// One GEMM Wᵀ·x into columns, then col2im with the epilogue per channel.
    case convTranspose(weight: [Float], input: (c: Int, h: Int, w: Int), output: (c: Int, h: Int, w: Int),
                       geometry: ConvGeometry, epilogue: Epilogue)
    /// A standalone batch norm and/or activation over [channels, plane].
    case pointwise(channels: Int, plane: Int, epilogue: Epilogue)
    case upsample(scale: Int, c: Int, h: Int, w: Int)
    case avgPool(kernel: Int, c: Int, h: Int, w: Int)
}

/// A compiled evaluation-mode forward pass over a range of a network's layers,
/// with its own workspaces. Not thread-safe: `Network` hands each caller its own.
final class InferencePlan {
    let steps: [InferenceStep]
    let inputShape: [Int]
    let outputShape: [Int]
    /// The tensors folded into the steps, with the versions they had.
    private let sources: [(tensor: Tensor, version: Int)]
    private let rowsPerSample: [Int]
    private let activationSize: Int, columnsSize: Int, stagingSize: Int
    private var capacity = 0
    private var buffers: [UnsafeMutablePointer<Float>] = []

    /// Whether every folded tensor still has the values it had when compiled.
    var isCurrent: Bool { sources.allSatisfy { $0.tensor.version == $0.version } }

    /// Compiles layers `range` of `spec` for per-sample input shape `inputShape`,
    /// or nil when a layer's shape does not fit (the differentiable path then
    /// reports it as before).
    init?(spec: NetworkSpec, range: Range<Int>, inputShape: [Int], tensor: (Int, String) -> Tensor?) {
        var steps: [InferenceStep] = [], rows: [Int] = [], used: [Tensor] = []
        var shape = inputShape
        var (activation, columns, staging) = (inputShape.product, 0, 0)
        let layers = range.map { spec.layers[$0] }
        let indices = Array(range)
        func shapeAfter(_ layer: LayerSpec, _ input: [Int]) -> [Int]? {
            if case let .success(out) = layer.outputShape(input) { return out }
            return nil
        }
        func values(_ index: Int, _ name: String) -> [Float]? {
            guard let t = tensor(index, name) else { return nil }
            used.append(t)
            return t.storage
        }
        var i = 0
        func skipNoOps() {
            while i < layers.count {
                switch layers[i] {
                case .identity, .dropout: i += 1
                default: return
                }
            }
        }
        while i < layers.count {
            let layer = layers[i], index = indices[i]
            guard let out = shapeAfter(layer, shape) else { return nil }
            i += 1
            switch layer {
            case .identity, .dropout:
                continue
            case .flatten, .unflatten:
                shape = out
                continue
            case .linear, .conv2d, .convTranspose2d:
                guard var weight = values(index, "weight") else { return nil }
                var bias = layer.tensorShapes.contains { $0.name == "bias" } ? values(index, "bias") : nil
                var outShape = out
                // Fold a following batch norm (through an unflatten for linear → [C, 4, 4]).
                skipNoOps()
                var lookahead = i, afterShape = outShape
                if case .linear = layer, lookahead < layers.count, case .unflatten = layers[lookahead],
                   let reshaped = shapeAfter(layers[lookahead], afterShape) {
                    afterShape = reshaped
                    lookahead += 1
                }
                if lookahead < layers.count, case let .batchNorm(features, eps, _) = layers[lookahead],
                   shapeAfter(layers[lookahead], afterShape) != nil,
                   let (scale, shift) = Self.foldedNorm(indices[lookahead], eps: eps, values) {
                    let channels = afterShape.count == 1 ? features : afterShape[0]
                    let outputs = Self.outputCount(layer)
                    let perChannel = outputs / channels
                    // Output unit u belongs to channel u / perChannel (linear: feature or [C, H, W] block).
                    let unitScale = (0..<outputs).map { scale[$0 / perChannel] }
                    let unitShift = (0..<outputs).map { shift[$0 / perChannel] }
                    Self.scaleOutputs(of: layer, &weight, by: unitScale)
                    bias = (0..<outputs).map { (bias?[$0] ?? 0) * unitScale[$0] + unitShift[$0] }
                    outShape = afterShape
                    i = lookahead + 1
                    skipNoOps()
                }
                var epilogue = Epilogue(shift: bias)
                if i < layers.count, let act = FusedActivation(layers[i]) {
                    epilogue.activation = act
                    i += 1
                }
                switch layer {
                case let .linear(inFeatures, outFeatures, _):
                    steps.append(.linear(weight: weight, inFeatures: inFeatures, outFeatures: outFeatures, epilogue: epilogue))
                    rows.append(shape.dropLast().product)
                case let .conv2d(c, o, k, s, p, _):
                    let geometry = ConvGeometry(kernel: k, stride: s, padding: p)
                    steps.append(.conv(weight: weight, input: (c, shape[1], shape[2]), output: (o, out[1], out[2]),
                                       geometry: geometry, epilogue: epilogue))
                    columns = max(columns, c * k * k * out[1] * out[2])
                    staging = max(staging, out.product)
                    rows.append(1)
                case let .convTranspose2d(c, o, k, s, p, _, _):
                    let geometry = ConvGeometry(kernel: k, stride: s, padding: p)
                    steps.append(.convTranspose(weight: weight, input: (c, shape[1], shape[2]), output: (o, out[1], out[2]),
                                                geometry: geometry, epilogue: epilogue))
                    columns = max(columns, o * k * k * shape[1] * shape[2])
                    staging = max(staging, shape.product)
                    rows.append(1)
                default: break
                }
                shape = outShape
            case let .batchNorm(_, eps, _):
                guard let (scale, shift) = Self.foldedNorm(index, eps: eps, values) else { return nil }
                var epilogue = Epilogue(scale: scale, shift: shift)
                skipNoOps()
                if i < layers.count, let act = FusedActivation(layers[i]) {
                    epilogue.activation = act
                    i += 1
                }
                steps.append(.pointwise(channels: shape[0], plane: shape.dropFirst().product, epilogue: epilogue))
                rows.append(1)
                shape = out
            case .relu, .leakyRelu, .elu, .tanh, .sigmoid:
                steps.append(.pointwise(channels: 1, plane: shape.product,
                                        epilogue: Epilogue(activation: FusedActivation(layer)!)))
                rows.append(1)
                shape = out
            case let .upsample(scale):
                steps.append(.upsample(scale: scale, c: shape[0], h: shape[1], w: shape[2]))
                rows.append(1)
                shape = out
            case let .avgPool(kernel):
                steps.append(.avgPool(kernel: kernel, c: shape[0], h: shape[1], w: shape[2]))
                rows.append(1)
                shape = out
            }
            activation = max(activation, shape.product)
        }
        guard !steps.isEmpty else { return nil }
        self.steps = steps
        self.rowsPerSample = rows
        self.inputShape = inputShape
        self.outputShape = shape
        self.sources = used.map { ($0, $0.version) }
        (activationSize, columnsSize, stagingSize) = (activation, columns, staging)
    }

    deinit { buffers.forEach { $0.deallocate() } }

    /// Per-channel scale γ/√(σ²+ε) and shift β − μ·scale of an evaluation-mode batch norm.
    private static func foldedNorm(_ index: Int, eps: Float, _ values: (Int, String) -> [Float]?) -> ([Float], [Float])? {
        guard let gamma = values(index, "weight"), let beta = values(index, "bias"),
              let mean = values(index, "running_mean"), let variance = values(index, "running_var") else { return nil }
        let scale = zip(gamma, variance).map { $0 / ($1 + eps).squareRoot() }
        let shift = (0..<scale.count).map { beta[$0] - mean[$0] * scale[$0] }
        return (scale, shift)
    }

    /// Output units of a linear layer (features) or output channels of a conv layer.
    private static func outputCount(_ layer: LayerSpec) -> Int {
        switch layer {
        case let .linear(_, o, _), let .conv2d(_, o, _, _, _, _), let .convTranspose2d(_, o, _, _, _, _, _): o
        default: 0
        }
    }

    /// Multiplies the weights that produce output unit u by `factors[u]`.
    private static func scaleOutputs(of layer: LayerSpec, _ weight: inout [Float], by factors: [Float]) {
        switch layer {
        case let .linear(inFeatures, _, _):
            for (u, f) in factors.enumerated() { for j in 0..<inFeatures { weight[u * inFeatures + j] *= f } }
        case let .conv2d(c, _, k, _, _, _):
            let block = c * k * k
            for (u, f) in factors.enumerated() { for j in 0..<block { weight[u * block + j] *= f } }
        case let .convTranspose2d(c, o, k, _, _, _, _):
            for ci in 0..<c {
                for (u, f) in factors.enumerated() {
                    let base = (ci * o + u) * k * k
                    for j in 0..<(k * k) { weight[base + j] *= f }
                }
            }
        default: break
        }
    }

    private func reserve(_ n: Int) {
        guard n > capacity else { return }
        buffers.forEach { $0.deallocate() }
        let sizes = [activationSize, activationSize, max(columnsSize, 1), max(stagingSize, 1)]
        buffers = sizes.map { UnsafeMutablePointer<Float>.allocate(capacity: $0 * n) }
        capacity = n
    }

    /// Runs the plan on `n` samples of `inputShape` (contiguous), returning [n] + `outputShape`.
    func run(_ input: Tensor, samples n: Int) -> Tensor {
        reserve(n)
        let total = n * outputShape.product
        let out = [Float](unsafeUninitializedCapacity: total) { result, initialized in
            input.withValues { source in
                var src = UnsafePointer(source.baseAddress!)
                var flip = 0
                for (index, step) in steps.enumerated() {
                    let dst = index == steps.count - 1 ? result.baseAddress! : buffers[flip]
                    execute(step, src, dst, n: n, rows: rowsPerSample[index] * n)
                    src = UnsafePointer(dst)
                    flip ^= 1
                }
            }
            initialized = total
        }
        return Tensor(shape: [n] + outputShape, storage: out)
    }

    private func execute(_ step: InferenceStep, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                         n: Int, rows: Int) {
        let (columns, staging) = (buffers[2], buffers[3])
        switch step {
        case let .linear(weight, inFeatures, outFeatures, epilogue):
            weight.withUnsafeBufferPointer { w in
                gemm(src, lda: inFeatures, w.baseAddress!, ldb: inFeatures, dst, ldc: outFeatures,
                     m: rows, n: outFeatures, k: inFeatures, transposeB: true)
            }
            if !epilogue.isIdentity { epilogue.applyRows(dst, dst, rows: rows, features: outFeatures) }

        case let .conv(weight, input, output, geometry, epilogue):
            let plane = output.h * output.w, k = input.c * geometry.kernelH * geometry.kernelW
            unfoldWindows(src, into: columns, n: n, c: input.c, h: input.h, w: input.w, geometry)
            // GEMM into [O, N·L]; for one sample that is already NCHW.
            let target = n == 1 ? dst : staging
            weight.withUnsafeBufferPointer { w in
                gemm(w.baseAddress!, lda: k, columns, ldb: n * plane, target, ldc: n * plane,
                     m: output.c, n: n * plane, k: k)
            }
            let target2 = UnsafePointer(target)
            parallelFor(output.c, cost: n * plane) { ch in
                for b in 0..<n {
                    epilogue.apply(target2 + (ch * n + b) * plane, dst + (b * output.c + ch) * plane,
                                   count: plane, channel: ch)
                }
            }

        case let .convTranspose(weight, input, output, geometry, epilogue):
            let pixels = input.h * input.w
            let kk = geometry.kernelH * geometry.kernelW
            let plane = output.h * output.w
            let finish: ((Int, Int) -> Void)? = epilogue.isIdentity ? nil : { ch, b in
                let p = dst + (b * output.c + ch) * plane
                epilogue.apply(p, p, count: plane, channel: ch)
            }
            var x = src
            if n > 1 {
                // [N, Cin, HW] → [Cin, N·HW] so that one GEMM covers the batch.
                parallelFor(input.c, cost: n * pixels) { ci in
                    for b in 0..<n {
                        (staging + (ci * n + b) * pixels).update(from: src + (b * input.c + ci) * pixels, count: pixels)
                    }
                }
                x = UnsafePointer(staging)
            }
            weight.withUnsafeBufferPointer { w in
                gemm(w.baseAddress!, lda: output.c * kk, x, ldb: n * pixels, columns, ldc: n * pixels,
                     m: output.c * kk, n: n * pixels, k: input.c, transposeA: true)
            }
            foldWindows(columns, into: dst, n: n, c: output.c, h: output.h, w: output.w, geometry,
                        finishPlane: finish)

        case let .pointwise(channels, plane, epilogue):
            parallelFor(n * channels, cost: plane) { task in
                epilogue.apply(src + task * plane, dst + task * plane, count: plane, channel: task % channels)
            }

        case let .upsample(scale, c, h, w):
            let (oh, ow) = (h * scale, w * scale)
            for p in 0..<(n * c) {
                for oy in 0..<oh {
                    let from = src + p * h * w + (oy / scale) * w, to = dst + p * oh * ow + oy * ow
                    for ox in 0..<ow { to[ox] = from[ox / scale] }
                }
            }

        case let .avgPool(kernel, c, h, w):
            let (oh, ow) = (h / kernel, w / kernel)
            let norm = 1 / Float(kernel * kernel)
            for p in 0..<(n * c) {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum: Float = 0
                        for dy in 0..<kernel {
                            let row = src + p * h * w + (oy * kernel + dy) * w + ox * kernel
                            for dx in 0..<kernel { sum += row[dx] }
                        }
                        dst[p * oh * ow + oy * ow + ox] = sum * norm
                    }
                }
            }
        }
    }
}
