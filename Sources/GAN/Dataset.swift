import Tensors

/// A source of training images: square RGB images [N, 3, S, S] with values in
/// `valueRange` (the generator's output range, so real and generated images
/// are compared on the same scale).
///
/// `batch(_:using:)` has the shape of the trainer's `RealBatches` closure, so
/// `dataset.batch` can be handed to it directly.
public protocol Dataset: Sendable {
    /// Side S of the images, in pixels.
    var imageSize: Int { get }
    var valueRange: (Float, Float) { get }
    /// One line for logs and training records, e.g. "shapes 32×32" or "folder faces/ (1200 images)".
    var summary: String { get }
    /// n images drawn at random (with replacement), [n, 3, S, S].
    func batch(_ n: Int, using rng: inout RandomGenerator) -> Tensor
    /// A reference sample for evaluation, reproducible from `seed`. Finite
    /// datasets return distinct images (at most all of them), since repeated
    /// images would distort nearest-neighbour statistics.
    func sampleImages(_ n: Int, seed: UInt64) -> Tensor
}

extension Dataset {
    public func sampleImages(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        return batch(n, using: &rng)
    }
}

/// Opens `--data`: the word `shapes` is the procedural dataset (write `./shapes`
/// for a folder of that name); anything else is a folder of PNG files.
public func openDataset(_ argument: String, imageSize: Int, seed: UInt64 = 0,
                        valueRange: (Float, Float) = (-1, 1)) throws(InputError) -> any Dataset {
    if argument == "shapes" {
        return try ShapesDataset(imageSize: imageSize, seed: seed, valueRange: valueRange)
    }
    return try ImageFolderDataset(path: argument, imageSize: imageSize, valueRange: valueRange)
}
