#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-output-pixel weights along one axis, stored as compressed rows:
/// output i reads sources `first[i] ..< first[i] + (start[i+1] − start[i])`
/// with `weights[start[i] ..< start[i+1]]` (summing to 1).
struct ResampleWeights {
    var first: [Int] = []
    var start: [Int] = [0]
    var weights: [Float] = []

    /// Shrinking averages the source area each output pixel covers (a box
    /// filter with exact fractional overlaps), so no source pixel is skipped
    /// and nothing aliases. Growing interpolates linearly between pixel
    /// centres (half-pixel convention, edges clamped), like PyTorch's
    /// `align_corners=False`. Equal sizes are the identity in both rules.
    init(from input: Int, to output: Int) {
        precondition(input > 0 && output > 0)
        let scale = Double(input) / Double(output)
        for i in 0..<output {
            var local: [(Int, Double)] = []
            if output < input {
                let lo = Double(i) * scale, hi = Double(i + 1) * scale
                var j = Int(lo.rounded(.down))
                while j < input && Double(j) < hi {
                    let w = min(hi, Double(j + 1)) - max(lo, Double(j))
                    if w > 1e-9 { local.append((j, w)) }
                    j += 1
                }
            } else {
                let src = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(input - 1))
                let j0 = Int(src.rounded(.down))
                let t = src - Double(j0)
                local.append((j0, 1 - t))
                if t > 1e-9 && j0 + 1 < input { local.append((j0 + 1, t)) }
            }
            let total = local.reduce(0) { $0 + $1.1 }
            first.append(local[0].0)
            for (_, w) in local { weights.append(Float(w / total)) }
            start.append(weights.count)
        }
    }
}

extension RGBImage {
    /// A square `size × size` copy (crop first with `centerCropSquare()` to
    /// keep the aspect ratio).
    public func resized(to size: Int, linearLight: Bool = false) -> RGBImage {
        resized(width: size, height: size, linearLight: linearLight)
    }

    /// Resamples to `width × height`: area averaging on the axes that shrink,
    /// bilinear on the axes that grow, computed in Float and rounded once.
    ///
    /// By default the arithmetic runs on the stored sRGB values, as PIL,
    /// torchvision and OpenCV do, so a dataset prepared here matches one
    /// prepared in Python (a 1-pixel black/white checkerboard halves to 128).
    /// `linearLight: true` averages physical intensities instead (the same
    /// checkerboard gives 188), which is what the eye sees from afar.
    public func resized(width outWidth: Int, height outHeight: Int, linearLight: Bool = false) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "resize to \(outWidth)×\(outHeight)")
        precondition(width > 0 && height > 0, "resize of an empty \(width)×\(height) image")
        if outWidth == width && outHeight == height { return self }

        let decode: [Float] = (0..<256).map { b in
            let c = Float(b) / 255
            guard linearLight else { return Float(b) }
            return c <= 0.04045 ? c / 12.92 : powf((c + 0.055) / 1.055, 2.4)
        }
        let horizontal = ResampleWeights(from: width, to: outWidth)
        let vertical = ResampleWeights(from: height, to: outHeight)

        // Pass 1: rows, width → outWidth.
        var rows = [Float](repeating: 0, count: height * outWidth * 3)
        decode.withUnsafeBufferPointer { lut in
            pixels.withUnsafeBufferPointer { src in
                rows.withUnsafeMutableBufferPointer { dst in
                    horizontal.weights.withUnsafeBufferPointer { wts in
                        for y in 0..<height {
                            let srcRow = y * width * 3, dstRow = y * outWidth * 3
                            for x in 0..<outWidth {
                                var r: Float = 0, g: Float = 0, b: Float = 0
                                var s = srcRow + horizontal.first[x] * 3
                                for k in horizontal.start[x]..<horizontal.start[x + 1] {
                                    let w = wts[k]
                                    r += w * lut[Int(src[s])]
                                    g += w * lut[Int(src[s + 1])]
                                    b += w * lut[Int(src[s + 2])]
                                    s += 3
                                }
                                dst[dstRow + 3 * x] = r; dst[dstRow + 3 * x + 1] = g; dst[dstRow + 3 * x + 2] = b
                            }
                        }
                    }
                }
            }
        }

        // Pass 2: columns, height → outHeight, accumulating whole rows so the
        // inner loop runs over contiguous memory.
        let rowLength = outWidth * 3
        var out = [UInt8](repeating: 0, count: outHeight * rowLength)
        var accumulator = [Float](repeating: 0, count: rowLength)
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                accumulator.withUnsafeMutableBufferPointer { acc in
                    for y in 0..<outHeight {
                        for i in 0..<rowLength { acc[i] = 0 }
                        var j = vertical.first[y]
                        for k in vertical.start[y]..<vertical.start[y + 1] {
                            let w = vertical.weights[k]
                            let base = j * rowLength
                            for i in 0..<rowLength { acc[i] += w * src[base + i] }
                            j += 1
                        }
                        let outRow = y * rowLength
                        if linearLight {
                            for i in 0..<rowLength { dst[outRow + i] = encodeSRGB(acc[i]) }
                        } else {
                            for i in 0..<rowLength { dst[outRow + i] = quantize(acc[i], scale: 1, low: 0) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }
}

/// Linear intensity in [0, 1] to an sRGB byte.
@inline(__always)
func encodeSRGB(_ v: Float) -> UInt8 {
    let c = v <= 0.0031308 ? 12.92 * v : 1.055 * powf(v, 1 / 2.4) - 0.055
    return quantize(c, scale: 255, low: 0)
}
