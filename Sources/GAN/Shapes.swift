import Foundation
import Imaging
import NN
import Tensors

/// The kinds of shape the procedural dataset draws.
public enum ShapeKind: String, Codable, CaseIterable, Sendable {
    case circle, square
    /// An isosceles triangle with a 45° apex, pointing up at rotation 0. Not
    /// equilateral on purpose: its second moments are anisotropic, so its
    /// rotation is visible in `ShapeStatistics.orientation…` (those of squares,
    /// circles and equilateral triangles are isotropic).
    case triangle
}

/// Ground truth of one image of the shapes dataset.
///
/// Coordinates are fractions of the image side, x to the right, y downwards.
public struct ShapeFactors: Codable, Equatable, Sendable {
    public var kind: ShapeKind
    /// Centre of mass of the shape (what `ShapeStatistics.x`/`y` estimate).
    public var x: Float
    public var y: Float
    /// √(area as a fraction of the image): every kind of the same scale covers
    /// the same area, so `scale²` is what `ShapeStatistics.area` estimates.
    public var scale: Float
    /// Radians in [0, 2π), clockwise on screen, about the centre of mass.
    /// Squares repeat every π/2; circles ignore it.
    public var rotation: Float
    /// Shape colour in HSV, each in [0, 1).
    public var hue: Float
    public var saturation: Float
    public var value: Float
    /// Background grey level in [0, 1].
    public var background: Float

    public init(kind: ShapeKind, x: Float, y: Float, scale: Float, rotation: Float,
                hue: Float, saturation: Float = 1, value: Float = 1, background: Float = 0.15) {
        (self.kind, self.x, self.y, self.scale, self.rotation) = (kind, x, y, scale, rotation)
        (self.hue, self.saturation, self.value, self.background) = (hue, saturation, value, background)
    }

    var isFinite: Bool {
        [x, y, scale, rotation, hue, saturation, value, background].allSatisfy(\.isFinite)
    }

    /// The shape colour as RGB in [0, 1].
    public var rgb: (Float, Float, Float) { hsvToRGB(hue, saturation, value) }
}

/// The procedural `shapes` dataset: one anti-aliased circle, square or
/// triangle per image on a plain grey background, with every factor of
/// variation drawn independently and recorded (`ShapeFactors`), so that
/// discovered latent directions can be checked against known factors.
///
/// Shapes always lie at least one pixel inside the image, whatever their
/// rotation: the border ring is pure background, which is what
/// `ShapeStatistics` takes the background colour from.
public struct ShapesDataset: Dataset {
    public let imageSize: Int
    /// Seed of `dump` and of `sampleImages` when no other seed is given.
    public let seed: UInt64
    public let valueRange: (Float, Float)

    /// Range of `ShapeFactors.scale` (√area fraction). The upper end is set by
    /// the triangle, whose tip reaches 1.036·scale from its centre of mass.
    public static let scaleRange: ClosedRange<Float> = 0.18...0.40
    public static let saturationRange: ClosedRange<Float> = 0.75...1
    public static let brightnessRange: ClosedRange<Float> = 0.8...1
    /// Backgrounds are dark or light grey, half each. With the colour ranges
    /// above every shape stays ≥ 0.55 (RGB distance) from its background.
    public static let darkBackground: ClosedRange<Float> = 0.05...0.25
    public static let lightBackground: ClosedRange<Float> = 0.65...0.85
    public static let minimumImageSize = 16

    /// - Throws: `InputError(.badArgument)` for sizes below 16 pixels (too few
    ///   pixels for a recognisable shape) or above 1024.
    public init(imageSize: Int = 32, seed: UInt64 = 0, valueRange: (Float, Float) = (-1, 1)) throws(InputError) {
        guard imageSize >= Self.minimumImageSize && imageSize <= 1024 else {
            throw InputError(.badArgument, key: "--image-size",
                             "is \(imageSize); the shapes dataset draws images of 16 to 1024 pixels")
        }
        guard valueRange.0.isFinite && valueRange.1.isFinite && valueRange.0 != valueRange.1 else {
            throw InputError(.badArgument, key: "value range", "\(valueRange) is empty or not finite")
        }
        (self.imageSize, self.seed, self.valueRange) = (imageSize, seed, valueRange)
    }

    public var summary: String { "shapes \(imageSize)×\(imageSize) (seed \(seed))" }

    // MARK: geometry

    /// Triangle vertices relative to its circumcentre, for circumradius 1.
    static let trianglePoints: [(Float, Float)] = {
        let phi = Float.pi / 4
        return [(0, -1), (sin(phi), cos(phi)), (-sin(phi), cos(phi))]
    }()
    static let triangleArea: Float = sin(Float.pi / 4) * (1 + cos(Float.pi / 4))
    static let triangleCentroidY: Float = (-1 + 2 * cos(Float.pi / 4)) / 3

    /// Largest distance from the centre of mass to any point of a shape of
    /// scale 1, over all kinds (the triangle's tip).
    static let boundingRadius: Float = (1 + triangleCentroidY) / triangleArea.squareRoot()

    /// Draws the factors of one image.
    public func sampleFactors(using rng: inout RandomGenerator) -> ShapeFactors {
        func uniform(_ range: ClosedRange<Float>) -> Float {
            range.lowerBound + (range.upperBound - range.lowerBound) * rng.nextUnitFloat()
        }
        let kind = ShapeKind.allCases[rng.nextInt(below: ShapeKind.allCases.count)]
        let scale = uniform(Self.scaleRange)
        // Keep the whole shape (any rotation) and a one-pixel ring inside the image.
        let reach = Self.boundingRadius * scale + 1 / Float(imageSize)
        let x = uniform(reach...(1 - reach)), y = uniform(reach...(1 - reach))
        let rotation = 2 * Float.pi * rng.nextUnitFloat()
        let hue = rng.nextUnitFloat()
        let saturation = uniform(Self.saturationRange), value = uniform(Self.brightnessRange)
        let background = rng.nextUnitFloat() < 0.5 ? uniform(Self.darkBackground) : uniform(Self.lightBackground)
        return ShapeFactors(kind: kind, x: x, y: y, scale: scale, rotation: rotation, hue: hue,
                            saturation: saturation, value: value, background: background)
    }

    // MARK: rendering

    /// One image as planes R, G, B (3·S·S values in `valueRange`).
    public func render(_ factors: ShapeFactors) -> [Float] {
        var values = [Float](repeating: 0, count: 3 * imageSize * imageSize)
        values.withUnsafeMutableBufferPointer { render(factors, into: $0) }
        return values
    }

    /// n images with their factors: images [n, 3, S, S] in `valueRange`.
    public func labelledBatch(_ n: Int, using rng: inout RandomGenerator) -> (images: Tensor, factors: [ShapeFactors]) {
        precondition(n >= 0, "negative batch size \(n)")
        let plane = 3 * imageSize * imageSize
        var factors: [ShapeFactors] = []
        factors.reserveCapacity(n)
        for _ in 0..<n { factors.append(sampleFactors(using: &rng)) }
        var values = [Float](repeating: 0, count: n * plane)
        values.withUnsafeMutableBufferPointer { buffer in
            for (i, f) in factors.enumerated() {
                render(f, into: UnsafeMutableBufferPointer(rebasing: buffer[(i * plane)..<((i + 1) * plane)]))
            }
        }
        return (Tensor(shape: [n, 3, imageSize, imageSize], storage: values), factors)
    }

    public func batch(_ n: Int, using rng: inout RandomGenerator) -> Tensor {
        labelledBatch(n, using: &rng).images
    }

    /// Renders by coverage: pixels whose centre is more than half a diagonal
    /// from every edge are fully in or out; only the pixels an edge crosses
    /// are supersampled (4×4), so the cost grows with the perimeter, not the
    /// area. Factors with NaN or infinity render as background only.
    func render(_ f: ShapeFactors, into out: UnsafeMutableBufferPointer<Float>) {
        let side = imageSize, plane = side * side
        precondition(out.count == 3 * plane)
        let low = valueRange.0, span = valueRange.1 - valueRange.0
        let bg = f.isFinite ? min(max(f.background, 0), 1) : 0
        let (fr, fg, fb) = f.isFinite ? f.rgb : (bg, bg, bg)
        let bgValue = low + span * bg
        for i in 0..<(3 * plane) { out[i] = bgValue }
        // Far outside the image (or degenerate): nothing to draw, and no Int overflow below.
        guard f.isFinite, f.scale > 0, f.scale < 4, abs(f.x) < 4, abs(f.y) < 4 else { return }

        let s = Float(side)
        let (cx, cy) = (f.x * s, f.y * s)
        let area = f.scale * f.scale * s * s
        let (cosR, sinR) = (cos(f.rotation), sin(f.rotation))

        // Half-planes n·p ≤ o of a convex polygon (empty for the circle).
        var normals: [(Float, Float, Float)] = []
        var radius: Float = 0
        switch f.kind {
        case .circle:
            radius = (area / Float.pi).squareRoot()
        case .square:
            let h = area.squareRoot() / 2
            normals = halfPlanes([(-h, -h), (h, -h), (h, h), (-h, h)], cosR, sinR, cx, cy)
            radius = h * Float(2).squareRoot()
        case .triangle:
            let rho = (area / Self.triangleArea).squareRoot()
            let points = Self.trianglePoints.map { ($0.0 * rho, ($0.1 - Self.triangleCentroidY) * rho) }
            normals = halfPlanes(points, cosR, sinR, cx, cy)
            radius = rho * (1 + Self.triangleCentroidY)
        }
        // Signed distance (exact for the circle; for polygons the largest
        // half-plane distance, exact for "fully inside" and a safe bound for
        // "fully outside").
        @inline(__always) func signedDistance(_ px: Float, _ py: Float) -> Float {
            if normals.isEmpty {
                let dx = px - cx, dy = py - cy
                return (dx * dx + dy * dy).squareRoot() - radius
            }
            var d = -Float.infinity
            for (nx, ny, o) in normals { d = max(d, nx * px + ny * py - o) }
            return d
        }

        let halfDiagonal: Float = 0.7072
        let x0 = max(0, Int((cx - radius).rounded(.down)) - 1), x1 = min(side - 1, Int((cx + radius).rounded(.up)) + 1)
        let y0 = max(0, Int((cy - radius).rounded(.down)) - 1), y1 = min(side - 1, Int((cy + radius).rounded(.up)) + 1)
        guard x0 <= x1, y0 <= y1 else { return }
        let (dr, dg, db) = (span * (fr - bg), span * (fg - bg), span * (fb - bg))
        for yi in y0...y1 {
            let py = Float(yi) + 0.5
            for xi in x0...x1 {
                let px = Float(xi) + 0.5
                let d = signedDistance(px, py)
                var coverage: Float
                if d >= halfDiagonal { continue }
                if d <= -halfDiagonal {
                    coverage = 1
                } else {
                    var inside = 0
                    for sy in 0..<4 {
                        let qy = py + (Float(sy) + 0.5) / 4 - 0.5
                        for sx in 0..<4 where signedDistance(px + (Float(sx) + 0.5) / 4 - 0.5, qy) <= 0 { inside += 1 }
                    }
                    coverage = Float(inside) / 16
                    if inside == 0 { continue }
                }
                let p = yi * side + xi
                out[p] = bgValue + coverage * dr
                out[plane + p] = bgValue + coverage * dg
                out[2 * plane + p] = bgValue + coverage * db
            }
        }
    }

    // MARK: files

    /// Writes `count` images as `shape_0000.png`… plus `factors.json` (the seed,
    /// the size and every image's factors) into `directory`, creating it if
    /// needed. Image i is image i of `labelledBatch(count, using:
    /// RandomGenerator(seed: seed))`. Every file is written atomically.
    public func dump(count: Int, to directory: String) throws {
        precondition(count >= 0, "negative count \(count)")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FileWriteError(path: directory, "cannot create the folder: \(error.localizedDescription)")
        }
        let folder = directory.hasSuffix("/") ? directory : directory + "/"
        let digits = max(4, String(max(count - 1, 0)).count)
        var rng = RandomGenerator(seed: seed)
        var entries: [ShapesDump.Entry] = []
        for index in 0..<count {
            let factors = sampleFactors(using: &rng)
            let values = render(factors)
            let image = rgbImages(from: Tensor(shape: [1, 3, imageSize, imageSize], storage: values),
                                  valueRange: valueRange)[0]
            let number = String(index)
            let name = "shape_" + String(repeating: "0", count: max(0, digits - number.count)) + number + ".png"
            try PNG.write(image, to: folder + name, metadata: [("latent-tui", "shapes seed=\(seed) index=\(index)")])
            entries.append(ShapesDump.Entry(file: name, factors: factors))
        }
        let record = ShapesDump(seed: seed, imageSize: imageSize, count: count, images: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(encoder.encode(record), to: folder + "factors.json")
    }
}

/// The content of `factors.json` written by `ShapesDataset.dump`.
public struct ShapesDump: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var file: String
        public var factors: ShapeFactors
    }
    public var dataset = "shapes"
    public var seed: UInt64
    public var imageSize: Int
    public var count: Int
    public var images: [Entry]

    enum CodingKeys: String, CodingKey {
        case dataset, seed, imageSize = "image_size", count, images
    }
}

/// Outward half-planes (nx, ny, offset) of a convex polygon given around its
/// origin, after rotating by (cos, sin) and moving the origin to (cx, cy).
private func halfPlanes(_ points: [(Float, Float)], _ cosR: Float, _ sinR: Float,
                        _ cx: Float, _ cy: Float) -> [(Float, Float, Float)] {
    let placed = points.map { (cx + $0.0 * cosR - $0.1 * sinR, cy + $0.0 * sinR + $0.1 * cosR) }
    var planes: [(Float, Float, Float)] = []
    for i in placed.indices {
        let a = placed[i], b = placed[(i + 1) % placed.count]
        var (nx, ny) = (b.1 - a.1, a.0 - b.0)
        let length = (nx * nx + ny * ny).squareRoot()
        (nx, ny) = (nx / length, ny / length)
        // Point the normal away from the centre whatever the vertex order.
        if nx * (cx - a.0) + ny * (cy - a.1) > 0 { (nx, ny) = (-nx, -ny) }
        planes.append((nx, ny, nx * a.0 + ny * a.1))
    }
    return planes
}

/// HSV (each in [0, 1], hue wrapping) to RGB in [0, 1].
func hsvToRGB(_ h: Float, _ s: Float, _ v: Float) -> (Float, Float, Float) {
    let h6 = (h - h.rounded(.down)) * 6
    let sector = min(Int(h6), 5)
    let f = h6 - Float(sector)
    let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
    switch sector {
    case 0: return (v, t, p)
    case 1: return (q, v, p)
    case 2: return (p, v, t)
    case 3: return (p, q, v)
    case 4: return (t, p, v)
    default: return (v, p, q)
    }
}
