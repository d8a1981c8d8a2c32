import Foundation
import NN
import Tensors

/// What a walk frame did, measured against the walk's start z0 (DESIGN.md,
/// "Readouts"). Stored per frame in `walk.json` (snake_case keys) and shown by
/// the browser. nil stands for a value that does not exist or is infinite.
public struct Readouts: Codable, Sendable, Equatable {
    /// Walk step s and its offset s·stride along the direction.
    public var step: Int
    public var offset: Float
    /// ‖z‖.
    public var latentNorm: Float
    /// Prior log-density: Gaussian −½‖z‖² − (d/2)·log 2π; uniform 0 inside
    /// [−1, 1]^d, nil (−∞) outside.
    public var priorLogDensity: Float?
    /// priorLogDensity − its value at z0 (nil when either is −∞).
    public var priorLogDensityDrift: Float?
    /// Uniform prior: coordinates of z outside [−1, 1]; nil for a Gaussian prior.
    public var coordinatesOutside: Int?
    /// Σᵢ log F'(zᵢ) with DP-LaSE's learned F; nil when the file has no F.
    public var learnedLogDensity: Float?
    public var learnedLogDensityDrift: Float?
    /// ‖G1(z) − G1(z0)‖ / ‖G1(z0)‖ at the split layer.
    public var featureChange: Float
    /// Mean |x − x0| over all pixel values, images scaled to [0, 1].
    public var imageChange: Float
    /// 10·log10(1 / MSE(x, x0)) in dB, peak 1; nil when the images are identical (∞).
    public var psnr: Float?
    /// ‖G(z + δγ) − G(z)‖ / δ with δ = 1e-3, as a per-pixel RMS of images in
    /// [0, 1]: how fast the picture changes along the direction here.
    public var pathLength: Float

    public init(step: Int, offset: Float, latentNorm: Float, priorLogDensity: Float?, priorLogDensityDrift: Float?,
                coordinatesOutside: Int?, learnedLogDensity: Float?, learnedLogDensityDrift: Float?,
                featureChange: Float, imageChange: Float, psnr: Float?, pathLength: Float) {
        self.step = step
        self.offset = offset
        self.latentNorm = latentNorm
        self.priorLogDensity = priorLogDensity
        self.priorLogDensityDrift = priorLogDensityDrift
        self.coordinatesOutside = coordinatesOutside
        self.learnedLogDensity = learnedLogDensity
        self.learnedLogDensityDrift = learnedLogDensityDrift
        self.featureChange = featureChange
        self.imageChange = imageChange
        self.psnr = psnr
        self.pathLength = pathLength
    }
}

/// Rendered frames of a walk with their readouts, in step order.
public struct WalkFrames: Sendable {
    public let steps: [Int]
    /// [n, d]
    public let latents: Tensor
    /// [n, C, H, W] in the generator's value range.
    public let images: Tensor
    public let readouts: [Readouts]
}

/// Step used for the path-length finite difference (in latent units).
public let pathLengthDelta: Float = 1e-3

extension Walk {
    /// Renders `steps` and measures every readout against z0.
    ///
    /// Two batched generator calls in all: one for z0 and the frames (G1's
    /// features are taken on the way, at `layer`), one for the frames shifted
    /// by δγ (path length); plus one batched call of F when the file has it.
    ///
    /// - Parameter layer: split layer for the feature change, 0…layers
    ///   (usually the direction set's `layer`).
    public func render(steps: ClosedRange<Int>, with checkpoint: Checkpoint, layer: Int) -> WalkFrames {
        let stepList = Array(steps)
        let latents = self.latents(steps: steps)
        let (images, readouts) = measure(latents: latents, steps: stepList, with: checkpoint, layer: layer)
        return WalkFrames(steps: stepList, latents: latents, images: images, readouts: readouts)
    }

    /// Readouts of frames `latents` [n, d] taken at `steps` of this walk; also
    /// returns their images [n, C, H, W].
    public func measure(latents: Tensor, steps: [Int], with checkpoint: Checkpoint,
                        layer: Int) -> (images: Tensor, readouts: [Readouts]) {
        let generator = checkpoint.generator
        let layerCount = generator.spec.layers.count
        precondition((0...layerCount).contains(layer), "split layer \(layer) outside 0…\(layerCount)")
        precondition(latents.rank == 2 && latents.shape[0] == steps.count && latents.shape[1] == z0.count,
                     "latents \(latents.shape) for \(steps.count) steps of a \(z0.count)-d walk")
        let n = steps.count
        return withoutGrad {
            let all = Tensor.concat([z0, latents], axis: 0)                      // [1 + n, d], row 0 = z0
            let features = generator(all, training: false, layers: 0..<layer)
            let output = generator(features, training: false, layers: layer..<layerCount)
            let shifted = generator(latents + direction * pathLengthDelta, training: false)
            let frames = output.slice(axis: 0, 1..<(n + 1))

            // Feature change, per row against row 0.
            let flatFeatures = features.reshaped([n + 1, -1])
            let baseFeatures = flatFeatures.slice(axis: 0, 0..<1)
            let featureDistance = (flatFeatures.slice(axis: 0, 1..<(n + 1)) - baseFeatures)
                .square().sum(axes: [1]).sqrt().storage
            let baseNorm = Swift.max(baseFeatures.square().sum().scalar.squareRoot(), 1e-12)

            // Image change in [0, 1] (clamped, as the PNGs show it).
            let (low, high) = checkpoint.valueRange
            let scale = 1 / (high - low)
            let unit = ((output - low) * scale).clamp(0, 1).reshaped([n + 1, -1])
            let difference = unit.slice(axis: 0, 1..<(n + 1)) - unit.slice(axis: 0, 0..<1)
            let meanAbsolute = difference.abs().mean(axes: [1]).storage
            let meanSquare = difference.square().mean(axes: [1]).storage

            // Path length: RMS per pixel value of the finite difference, [0, 1] units.
            let step = ((shifted - frames) * scale).reshaped([n, -1])
            let pathLengths = step.square().mean(axes: [1]).sqrt().storage.map { $0 / pathLengthDelta }

            let norms = latents.square().sum(axes: [1]).sqrt().storage
            let prior = checkpoint.prior.logDensity(all)
            let learned = checkpoint.densityCDF.map { learnedLogDensity($0, all) }

            let readouts = (0..<n).map { i -> Readouts in
                let priorValue = prior[i + 1].value
                let priorDrift = priorValue.flatMap { v in prior[0].value.map { v - $0 } }
                return Readouts(
                    step: steps[i], offset: Float(steps[i]) * stride, latentNorm: norms[i],
                    priorLogDensity: priorValue, priorLogDensityDrift: priorDrift,
                    coordinatesOutside: checkpoint.prior == .uniform ? prior[i + 1].outside : nil,
                    learnedLogDensity: learned?[i + 1], learnedLogDensityDrift: learned.map { $0[i + 1] - $0[0] },
                    featureChange: featureDistance[i] / baseNorm, imageChange: meanAbsolute[i],
                    psnr: meanSquare[i] > 0 ? Float(10 * log10(1 / Double(meanSquare[i]))) : nil,
                    pathLength: pathLengths[i])
            }
            return (frames, readouts)
        }
    }
}
