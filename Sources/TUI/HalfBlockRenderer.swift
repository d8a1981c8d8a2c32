#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Imaging

/// An image rendered to half-block cells, in memory: `cols × rows` cells,
/// each two stacked pixels. Rendering is separate from writing to a screen
/// (notcurses' blitter split) so the pixels are testable without a terminal.
public struct HalfBlockImage: Hashable, Sendable {
    public let cols: Int
    public let rows: Int
    /// Row-major, `cols × rows`.
    public let top: [RGB]
    /// Row-major; `nil` where the image's last pixel row is odd and the
    /// cell's lower half stays in the terminal's background.
    public let bottom: [RGB?]

    public subscript(row: Int, col: Int) -> (top: RGB, bottom: RGB?) {
        (top[row * cols + col], bottom[row * cols + col])
    }

    /// Writes the cells with their top-left corner at (row, col).
    public func draw(on screen: Screen, row: Int, col: Int) {
        for r in 0..<rows {
            for c in 0..<cols {
                let i = r * cols + c
                screen.putHalfBlock(row: row + r, col: col + c, top: top[i], bottom: bottom[i])
            }
        }
    }
}

/// Scales images to cell rectangles, two pixels per cell (`▀`: foreground =
/// top pixel, background = bottom pixel). A cell is about twice as tall as
/// wide, so its two half-cells are about square: one image pixel per
/// half-cell keeps the aspect ratio.
public enum HalfBlockRenderer {
    /// The largest pixel size with the image's aspect ratio that fits in
    /// `cols` columns and `2·rows` half-rows (at least 1×1).
    public static func fittedPixelSize(width: Int, height: Int, cols: Int, rows: Int) -> (width: Int, height: Int) {
        guard width > 0, height > 0, cols > 0, rows > 0 else { return (0, 0) }
        let scale = min(Double(cols) / Double(width), Double(2 * rows) / Double(height))
        let w = min(cols, max(1, Int((Double(width) * scale).rounded())))
        let h = min(2 * rows, max(1, Int((Double(height) * scale).rounded())))
        return (w, h)
    }

    /// Renders `image` as large as fits in `cols × rows` cells, keeping its
    /// aspect ratio; the result may be smaller than the rectangle (callers
    /// centre it). Empty rectangles or images give an empty result.
    public static func render(_ image: RGBImage, cols: Int, rows: Int) -> HalfBlockImage {
        let (w, h) = fittedPixelSize(width: image.width, height: image.height, cols: cols, rows: rows)
        guard w > 0, h > 0 else { return HalfBlockImage(cols: 0, rows: 0, top: [], bottom: []) }
        return cells(of: scale(image, width: w, height: h))
    }

    /// Pairs up pixel rows into cells without scaling.
    public static func cells(of image: RGBImage) -> HalfBlockImage {
        let cellRows = (image.height + 1) / 2
        var top: [RGB] = [], bottom: [RGB?] = []
        top.reserveCapacity(cellRows * image.width)
        bottom.reserveCapacity(cellRows * image.width)
        let p = image.pixels
        for r in 0..<cellRows {
            for x in 0..<image.width {
                let i = (2 * r * image.width + x) * 3
                top.append(RGB(p[i], p[i + 1], p[i + 2]))
                if 2 * r + 1 < image.height {
                    let j = i + image.width * 3
                    bottom.append(RGB(p[j], p[j + 1], p[j + 2]))
                } else {
                    bottom.append(nil)
                }
            }
        }
        return HalfBlockImage(cols: image.width, rows: cellRows, top: top, bottom: bottom)
    }

    /// Resamples to `width × height`: each shrinking axis averages the source
    /// area an output pixel covers (exact fractional overlaps, in linear
    /// light so a fine black/white pattern reads as the grey the eye sees);
    /// each growing axis repeats pixels (nearest), keeping a 32-pixel
    /// generator output crisp instead of blurring it.
    public static func scale(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0 && image.width > 0 && image.height > 0,
                     "scale \(image.width)×\(image.height) to \(width)×\(height)")
        if width == image.width && height == image.height { return image }
        let xs = AxisWeights(from: image.width, to: width)
        let ys = AxisWeights(from: image.height, to: height)
        let lut = OKLab.linear
        let src = image.pixels
        var out = [UInt8](repeating: 0, count: width * height * 3)
        var row = [Float](repeating: 0, count: width * 3)
        for y in 0..<height {
            for i in row.indices { row[i] = 0 }
            for (sy, wy) in ys.taps[y] {
                let base = sy * image.width * 3
                for x in 0..<width {
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for (sx, wx) in xs.taps[x] {
                        let i = base + sx * 3
                        r += wx * lut[Int(src[i])]; g += wx * lut[Int(src[i + 1])]; b += wx * lut[Int(src[i + 2])]
                    }
                    row[3 * x] += wy * r; row[3 * x + 1] += wy * g; row[3 * x + 2] += wy * b
                }
            }
            for i in row.indices { out[y * width * 3 + i] = encodeSRGB(row[i]) }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Linear intensity → sRGB byte, rounded to nearest (so an unscaled
    /// colour survives the round trip exactly).
    static func encodeSRGB(_ v: Float) -> UInt8 {
        let x = min(max(v, 0), 1)
        let c = x <= 0.0031308 ? 12.92 * x : 1.055 * powf(x, 1 / 2.4) - 0.055
        return UInt8(min(max((c * 255).rounded(), 0), 255))
    }
}

/// Source taps per output pixel along one axis, weights summing to 1.
struct AxisWeights {
    var taps: [[(Int, Float)]] = []

    init(from input: Int, to output: Int) {
        let ratio = Double(input) / Double(output)
        for i in 0..<output {
            if output >= input {
                taps.append([(min(input - 1, Int((Double(i) + 0.5) * ratio)), 1)])
                continue
            }
            let lo = Double(i) * ratio, hi = Double(i + 1) * ratio
            var local: [(Int, Float)] = []
            var j = Int(lo)
            while j < input && Double(j) < hi {
                let w = min(hi, Double(j + 1)) - max(lo, Double(j))
                if w > 1e-9 { local.append((j, Float(w / ratio))) }
                j += 1
            }
            taps.append(local)
        }
    }
}

extension RGBImage {
    /// An image from planar floats [3, height, width] in [0, 1] (a generator
    /// output already mapped to [0, 1]); values are clamped, NaN becomes 0.
    public init(planar values: [Float], width: Int, height: Int) {
        precondition(values.count == 3 * width * height,
                     "\(values.count) values do not make a [3, \(height), \(width)] image")
        let plane = width * height
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for ch in 0..<3 {
            for p in 0..<plane {
                let v = values[ch * plane + p]
                pixels[3 * p + ch] = v > 0 ? UInt8(min(v, 1) * 255 + 0.5) : 0
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }
}
