import Tensors

/// Maps `valueRange.0 … valueRange.1` linearly onto 0 … 255, rounding to
/// nearest (halves away from zero, so 127.5 → 128) and clamping; NaN → 0.
@inline(__always)
func quantize(_ v: Float, scale: Float, low: Float) -> UInt8 {
    let x = ((v - low) * scale).rounded(.toNearestOrAwayFromZero)
    if !(x > 0) { return 0 } // also NaN
    if x >= 255 { return 255 }
    return UInt8(x)
}

/// Converts a batch of images [N, C, H, W] (C = 1 or 3; a single image
/// [C, H, W] is taken as N = 1) to 8-bit RGB. `valueRange` is what the
/// generator outputs (e.g. (-1, 1) after tanh); values outside it clamp and
/// NaN becomes 0 so a diverged model still renders. One channel is
/// replicated to grey.
public func rgbImages(from tensor: Tensor, valueRange: (Float, Float)) -> [RGBImage] {
    let shape = tensor.rank == 3 ? [1] + tensor.shape : tensor.shape
    precondition(shape.count == 4, "rgbImages needs [N, C, H, W] or [C, H, W], not \(tensor.shape)")
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    precondition(c == 1 || c == 3, "rgbImages needs 1 or 3 channels, not \(c) (shape \(tensor.shape))")
    precondition(valueRange.1 != valueRange.0 && valueRange.0.isFinite && valueRange.1.isFinite,
                 "empty or infinite value range \(valueRange)")
    let scale = 255 / (valueRange.1 - valueRange.0), low = valueRange.0
    let plane = h * w
    return tensor.withValues { values in
        (0..<n).map { i in
            var pixels = [UInt8](repeating: 0, count: plane * 3)
            pixels.withUnsafeMutableBufferPointer { out in
                let base = i * c * plane
                if c == 1 {
                    for p in 0..<plane {
                        let v = quantize(values[base + p], scale: scale, low: low)
                        out[3 * p] = v; out[3 * p + 1] = v; out[3 * p + 2] = v
                    }
                } else {
                    for ch in 0..<3 {
                        let src = base + ch * plane
                        for p in 0..<plane { out[3 * p + ch] = quantize(values[src + p], scale: scale, low: low) }
                    }
                }
            }
            return RGBImage(width: w, height: h, pixels: pixels)
        }
    }
}

/// The inverse of `rgbImages(from:valueRange:)`: images of equal size to a
/// tensor [N, channels, H, W] with 0 ↦ valueRange.0 and 255 ↦ valueRange.1.
/// `channels: 1` takes BT.601 luma (exact for grey images stored as RGB).
/// Callers resize first (`centerCropSquare().resized(to:)`); unequal sizes
/// are a programming error.
public func tensor(from images: [RGBImage], valueRange: (Float, Float) = (0, 1), channels: Int = 3) -> Tensor {
    precondition(channels == 1 || channels == 3, "tensor(from:) makes 1 or 3 channels, not \(channels)")
    guard let first = images.first else { return Tensor.zeros([0, channels, 0, 0]) }
    let (h, w) = (first.height, first.width)
    let plane = h * w
    var values = [Float](repeating: 0, count: images.count * channels * plane)
    let low = valueRange.0, step = (valueRange.1 - valueRange.0) / 255
    // A lookup table keeps the per-pixel work to a load; it also makes 0 and
    // 255 land exactly on the ends of the range.
    var table = [Float](repeating: 0, count: 256)
    for b in 0..<256 { table[b] = b == 255 ? valueRange.1 : low + Float(b) * step }
    table.withUnsafeBufferPointer { lut in
        values.withUnsafeMutableBufferPointer { out in
            for (i, image) in images.enumerated() {
                precondition(image.width == w && image.height == h,
                             "image \(i) is \(image.width)×\(image.height), the first is \(w)×\(h)")
                image.pixels.withUnsafeBufferPointer { px in
                    let base = i * channels * plane
                    if channels == 3 {
                        for p in 0..<plane {
                            out[base + p] = lut[Int(px[3 * p])]
                            out[base + plane + p] = lut[Int(px[3 * p + 1])]
                            out[base + 2 * plane + p] = lut[Int(px[3 * p + 2])]
                        }
                    } else {
                        for p in 0..<plane {
                            let y = 0.299 * Float(px[3 * p]) + 0.587 * Float(px[3 * p + 1]) + 0.114 * Float(px[3 * p + 2])
                            out[base + p] = low + y * step
                        }
                    }
                }
            }
        }
    }
    return Tensor(shape: [images.count, channels, h, w], storage: values)
}

extension RGBImage {
    /// This image as a tensor [3, H, W] with 0 ↦ valueRange.0, 255 ↦ valueRange.1.
    public func tensor(valueRange: (Float, Float) = (0, 1)) -> Tensor {
        let batch = Imaging.tensor(from: [self], valueRange: valueRange)
        return Tensor(shape: [3, height, width], storage: batch.storage)
    }
}

extension PNG {
    /// Reads a PNG as a tensor [3, H, W] in [0, 1] (see `read(_:)` for how
    /// grey, alpha and 16-bit files are converted).
    public static func readTensor(_ path: String) throws(InputError) -> Tensor {
        try read(path).tensor()
    }
}
