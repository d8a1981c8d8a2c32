/// An 8-bit sRGB image: `pixels` holds `width × height` pixels row by row,
/// each as three bytes R, G, B (no padding between rows).
///
/// A plain value (not a `Tensor`) because it is what files, terminals and
/// GIF frames deal in; `Tensor` conversions live in `TensorConversion.swift`.
public struct RGBImage: Equatable, Hashable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)×\(height)")
        precondition(pixels.count == width * height * 3,
                     "\(pixels.count) bytes do not make a \(width)×\(height) RGB image")
        (self.width, self.height, self.pixels) = (width, height, pixels)
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)×\(height)")
        var pixels = [UInt8](repeating: fill.0, count: width * height * 3)
        if fill.0 != fill.1 || fill.0 != fill.2 {
            pixels.withUnsafeMutableBufferPointer { p in
                var i = 0
                while i < p.count { p[i] = fill.0; p[i + 1] = fill.1; p[i + 2] = fill.2; i += 3 }
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Replicates a grey image to three channels.
    public init(_ gray: GrayImage) {
        var pixels = [UInt8](repeating: 0, count: gray.width * gray.height * 3)
        gray.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count {
                    let v = src[i]
                    dst[3 * i] = v; dst[3 * i + 1] = v; dst[3 * i + 2] = v
                }
            }
        }
        self.init(width: gray.width, height: gray.height, pixels: pixels)
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
            let i = (y * width + x) * 3
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
            let i = (y * width + x) * 3
            pixels[i] = newValue.r; pixels[i + 1] = newValue.g; pixels[i + 2] = newValue.b
        }
    }
}

/// An 8-bit grey image, one byte per pixel, row by row. Used to write
/// single-channel outputs (e.g. 1-channel generators) as 8-bit grey PNGs,
/// which are a third the size of the replicated RGB.
public struct GrayImage: Equatable, Hashable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)×\(height)")
        precondition(pixels.count == width * height,
                     "\(pixels.count) bytes do not make a \(width)×\(height) grey image")
        (self.width, self.height, self.pixels) = (width, height, pixels)
    }

    /// BT.601 luma of an RGB image (exact for images whose channels are equal).
    public init(_ rgb: RGBImage) {
        var pixels = [UInt8](repeating: 0, count: rgb.width * rgb.height)
        rgb.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<dst.count {
                    // Integer weights summing to 1000 keep R = G = B exact.
                    let y = 299 * Int(src[3 * i]) + 587 * Int(src[3 * i + 1]) + 114 * Int(src[3 * i + 2])
                    dst[i] = UInt8((y + 500) / 1000)
                }
            }
        }
        self.init(width: rgb.width, height: rgb.height, pixels: pixels)
    }

    public subscript(x: Int, y: Int) -> UInt8 {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
            return pixels[y * width + x]
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
            pixels[y * width + x] = newValue
        }
    }
}
