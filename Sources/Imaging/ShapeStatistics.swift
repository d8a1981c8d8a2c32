#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// Measurements of an image that shows one shape on a plain background.
///
/// They stand in for a pretrained feature network: sample quality is judged
/// by comparing their distributions (GAN's `evaluate`), and latent directions
/// are named by the statistic they move. Every entry of `vector` is a
/// continuous function of the pixels, so a small change of the image is a
/// small change of the vector — which is why angles are stored as
/// (cos, sin) pairs and shrink towards 0 where they are undefined.
///
/// Coordinates: x to the right, y downwards, both normalised to 0…1 by the
/// image width and height.
public struct ShapeStatistics: Equatable, Sendable, Codable {
    /// Foreground centroid.
    public var x: Float
    public var y: Float
    /// Foreground mass as a fraction of all pixels (anti-aliased edge pixels count partially).
    public var area: Float
    /// (cos 2θ, sin 2θ) of the second-moment axis θ (measured from +x towards +y,
    /// i.e. clockwise on screen), scaled by the elongation (λ₁ − λ₂)/(λ₁ + λ₂).
    /// Circles, squares and other shapes with isotropic moments give (0, 0)
    /// instead of a random angle.
    public var orientationCos: Float
    public var orientationSin: Float
    /// Mean foreground hue as a vector: the opponent-colour angle (equal to the
    /// HSV hue at primaries, secondaries and halfway between them, within 2°
    /// elsewhere) with length = how saturated and uniform the colour is:
    /// 1 for one saturated colour, towards 0 for grey or mixed hues.
    public var hueCos: Float
    public var hueSin: Float
    /// area / (2π · second-moment trace): 1 for a disk, 0.955 for a square,
    /// 0.78 for the shapes dataset's triangle, lower for elongated or ragged
    /// shapes. Scale-free, so it separates the kinds.
    public var compactness: Float
    /// Background grey level: the mean of the background's R, G, B.
    public var backgroundLevel: Float

    /// Background colour (per-channel median of the border pixels), in 0…1.
    public var background: [Float]
    /// Mean colour of the foreground's interior pixels, in 0…1.
    public var foreground: [Float]
    /// Foreground–background colour distance (Euclidean in RGB, 0…√3).
    public var contrast: Float
    /// Share of the foreground mass in the largest 8-connected component.
    public var componentFraction: Float
    /// RMS deviation of the interior (two pixels in from the edge) from its mean colour.
    public var colourSpread: Float
    /// Share of border pixels that look like the background.
    public var borderFraction: Float
    /// A clean shape: one component, uniform colour, background all around, a sensible size.
    public var clean: Bool { CleanCondition.allCases.allSatisfy(meets) }

    /// The conditions of `clean`, each checkable on its own so that a report
    /// can say which ones a generator's samples miss.
    public enum CleanCondition: String, CaseIterable, Codable, Sendable {
        case oneComponent = "one_component"
        case uniformColour = "uniform_colour"
        case backgroundAllAround = "background_all_around"
        case sensibleArea = "sensible_area"

        /// The name in text reports: "uniform colour".
        public var label: String { rawValue.replacingOccurrences(of: "_", with: " ") }
    }

    public func meets(_ condition: CleanCondition) -> Bool {
        switch condition {
        case .oneComponent: componentFraction >= Self.minimumComponentFraction
        case .uniformColour: colourSpread <= Self.maximumColourSpread
        case .backgroundAllAround: borderFraction >= Self.minimumBorderFraction
        case .sensibleArea: Self.areaRange.contains(area)
        }
    }

    /// Names of the entries of `vector`, in order (used in reports).
    public static let names = ["x", "y", "area", "orientation_cos", "orientation_sin",
                               "hue_cos", "hue_sin", "compactness", "background"]

    /// The continuous statistics compared between datasets.
    public var vector: [Float] {
        [x, y, area, orientationCos, orientationSin, hueCos, hueSin, compactness, backgroundLevel]
    }

    /// Mean hue as a fraction of a turn in [0, 1) (0 when there is no colour).
    public var hue: Float {
        guard hueCos != 0 || hueSin != 0 else { return 0 }
        let turn = Float(atan2(Double(hueSin), Double(hueCos)) / (2 * Double.pi))
        return turn < 0 ? turn + 1 : turn
    }

    /// Elongation in 0…1 (the length of the orientation vector).
    public var elongation: Float { (orientationCos * orientationCos + orientationSin * orientationSin).squareRoot() }

    // MARK: thresholds

    /// Colour distance from the background above which a pixel is foreground
    /// (the shapes dataset keeps every shape at least 0.55 away).
    public static let foregroundThreshold: Float = 0.15
    /// Pixels closer than this to the background weigh nothing, so faint noise
    /// over the whole background does not add up to area.
    public static let noiseGate: Float = 0.075
    /// `clean` limits.
    public static let minimumComponentFraction: Float = 0.95
    public static let maximumColourSpread: Float = 0.1
    public static let minimumBorderFraction: Float = 0.9
    public static let areaRange: ClosedRange<Float> = 0.004...0.6

    /// The statistics of an image without any foreground.
    static func empty(background: [Float], borderFraction: Float) -> ShapeStatistics {
        ShapeStatistics(x: 0.5, y: 0.5, area: 0, orientationCos: 0, orientationSin: 0, hueCos: 0, hueSin: 0,
                        compactness: 0, backgroundLevel: (background[0] + background[1] + background[2]) / 3,
                        background: background, foreground: background, contrast: 0, componentFraction: 0,
                        colourSpread: 0, borderFraction: borderFraction)
    }
}

/// Statistics of an 8-bit image.
public func shapeStatistics(_ image: RGBImage) -> ShapeStatistics {
    let plane = image.width * image.height
    var chw = [Float](repeating: 0, count: 3 * plane)
    image.pixels.withUnsafeBufferPointer { px in
        chw.withUnsafeMutableBufferPointer { out in
            for p in 0..<plane {
                out[p] = Float(px[3 * p]) / 255
                out[plane + p] = Float(px[3 * p + 1]) / 255
                out[2 * plane + p] = Float(px[3 * p + 2]) / 255
            }
        }
    }
    var workspace = ShapeStatisticsWorkspace()
    return chw.withUnsafeBufferPointer { workspace.measure($0, width: image.width, height: image.height) }
}

/// Statistics of one image stored as planes R, G, B (`3 × height × width`
/// values in 0…1; values outside are clamped, NaN reads as 0).
public func shapeStatistics(chw: [Float], width: Int, height: Int) -> ShapeStatistics {
    precondition(chw.count == 3 * width * height, "\(chw.count) values do not make a 3×\(height)×\(width) image")
    var clamped = chw
    for i in clamped.indices { clamped[i] = clampUnit(clamped[i]) }
    var workspace = ShapeStatisticsWorkspace()
    return clamped.withUnsafeBufferPointer { workspace.measure($0, width: width, height: height) }
}

/// Statistics of every image of a batch [N, C, H, W] (or one image [C, H, W])
/// whose values span `valueRange` (a generator's output range). One channel
/// is read as grey. Buffers are shared across the batch.
public func shapeStatistics(batch: Tensor, valueRange: (Float, Float)) -> [ShapeStatistics] {
    let shape = batch.rank == 3 ? [1] + batch.shape : batch.shape
    precondition(shape.count == 4 && (shape[1] == 1 || shape[1] == 3),
                 "shapeStatistics needs [N, 1 or 3, H, W], not \(batch.shape)")
    precondition(valueRange.0 != valueRange.1, "empty value range \(valueRange)")
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let plane = h * w
    let scale = 1 / (valueRange.1 - valueRange.0), low = valueRange.0
    var image = [Float](repeating: 0, count: 3 * plane)
    var workspace = ShapeStatisticsWorkspace()
    var result: [ShapeStatistics] = []
    result.reserveCapacity(n)
    batch.withValues { values in
        image.withUnsafeMutableBufferPointer { out in
            for i in 0..<n {
                let base = i * c * plane
                for ch in 0..<3 {
                    let src = base + (c == 1 ? 0 : ch * plane), dst = ch * plane
                    for p in 0..<plane { out[dst + p] = clampUnit((values[src + p] - low) * scale) }
                }
                result.append(workspace.measure(UnsafeBufferPointer(out), width: w, height: h))
            }
        }
    }
    return result
}

@inline(__always)
private func clampUnit(_ v: Float) -> Float {
    if !(v > 0) { return 0 } // also NaN
    return v < 1 ? v : 1
}

/// Scratch buffers reused across the images of a batch.
struct ShapeStatisticsWorkspace {
    private var distance: [Float] = []
    private var weight: [Float] = []
    private var label: [Int32] = []
    private var stack: [Int32] = []

    /// Measures one image given as R, G, B planes of `width × height` values in 0…1.
    mutating func measure(_ px: UnsafeBufferPointer<Float>, width w: Int, height h: Int) -> ShapeStatistics {
        let n = w * h
        precondition(n > 0 && px.count >= 3 * n, "image of \(w)×\(h) needs \(3 * n) values")
        if distance.count < n {
            distance = [Float](repeating: 0, count: n)
            weight = [Float](repeating: 0, count: n)
            label = [Int32](repeating: 0, count: n)
            stack.reserveCapacity(n)
        }
        let r = UnsafeBufferPointer(rebasing: px[0..<n])
        let g = UnsafeBufferPointer(rebasing: px[n..<2 * n])
        let b = UnsafeBufferPointer(rebasing: px[2 * n..<3 * n])
        let background = borderMedian(r, g, b, width: w, height: h)
        let (bgR, bgG, bgB) = (background[0], background[1], background[2])
        let threshold = ShapeStatistics.foregroundThreshold
        // Move the buffers out of `self` for the duration, so the closures below
        // touch locals only (no overlapping access to `self`).
        var distance: [Float] = [], weight: [Float] = [], label: [Int32] = [], stack: [Int32] = []
        swap(&distance, &self.distance); swap(&weight, &self.weight)
        swap(&label, &self.label); swap(&stack, &self.stack)
        defer {
            swap(&distance, &self.distance); swap(&weight, &self.weight)
            swap(&label, &self.label); swap(&stack, &self.stack)
        }

        return distance.withUnsafeMutableBufferPointer { dist in
            weight.withUnsafeMutableBufferPointer { wt in
                label.withUnsafeMutableBufferPointer { lab in
                    // 1. Distance of every pixel from the background colour, and a
                    //    histogram of the foreground's distances for the contrast.
                    let bins = 512
                    let binScale = Float(bins) / Float(3).squareRoot()
                    var histogram = [Int32](repeating: 0, count: bins)
                    var foregroundCount = 0
                    for p in 0..<n {
                        let dr = r[p] - bgR, dg = g[p] - bgG, db = b[p] - bgB
                        let d = (dr * dr + dg * dg + db * db).squareRoot()
                        dist[p] = d
                        if d > threshold {
                            histogram[min(bins - 1, Int(d * binScale))] += 1
                            foregroundCount += 1
                        }
                    }
                    var borderMatches = 0, borderCount = 0
                    forEachBorderPixel(width: w, height: h) { p in
                        borderCount += 1
                        if dist[p] <= threshold { borderMatches += 1 }
                    }
                    let borderFraction = Float(borderMatches) / Float(max(borderCount, 1))
                    guard foregroundCount > 0 else {
                        return ShapeStatistics.empty(background: background, borderFraction: borderFraction)
                    }
                    // Contrast = 90th percentile of the foreground distances: the
                    // interior's distance, robust to anti-aliased edge pixels.
                    var target = Int32((Float(foregroundCount) * 0.9).rounded(.down)), bin = 0
                    while bin < bins - 1 && target >= histogram[bin] { target -= histogram[bin]; bin += 1 }
                    let contrast = max((Float(bin) + 0.5) / binScale, threshold)

                    // 2. Soft weights: an edge pixel covering a fraction α of the
                    //    shape sits at α·contrast from the background, so d/contrast
                    //    recovers the coverage and areas and centroids stay sub-pixel.
                    let gate = ShapeStatistics.noiseGate
                    var s = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0
                    var hueA = 0.0, hueB = 0.0, chroma = 0.0
                    let halfRoot3: Float = 0.866_025_4
                    for yi in 0..<h {
                        let fy = Double(yi) + 0.5
                        for xi in 0..<w {
                            let p = yi * w + xi
                            let d = dist[p]
                            let weight = d < gate ? 0 : min(d / contrast, 1)
                            wt[p] = weight
                            guard weight > 0 else { continue }
                            let ww = Double(weight), fx = Double(xi) + 0.5
                            s += ww; sx += ww * fx; sy += ww * fy
                            sxx += ww * fx * fx; syy += ww * fy * fy; sxy += ww * fx * fy
                            let a = r[p] - 0.5 * (g[p] + b[p]), bb = halfRoot3 * (g[p] - b[p])
                            hueA += ww * Double(a); hueB += ww * Double(bb)
                            // Floor on the chroma: pale colours fade the hue vector
                            // towards 0 instead of snapping to a unit vector.
                            chroma += ww * Double(max((a * a + bb * bb).squareRoot(), 0.25))
                        }
                    }
                    let cx = sx / s, cy = sy / s
                    let (fw, fh) = (Double(w), Double(h))
                    let m20 = (sxx / s - cx * cx) / (fw * fw)
                    let m02 = (syy / s - cy * cy) / (fh * fh)
                    let m11 = (sxy / s - cx * cy) / (fw * fh)
                    let trace = m20 + m02
                    let area = s / Double(n)

                    // 3. Components of the hard mask (8-connected), weighed by w.
                    var totalMass = 0.0, largestMass = 0.0
                    for p in 0..<n { lab[p] = -1 }
                    var component: Int32 = 0
                    for start in 0..<n where dist[start] > threshold && lab[start] < 0 {
                        var mass = 0.0
                        stack.removeAll(keepingCapacity: true)
                        stack.append(Int32(start))
                        lab[start] = component
                        while let top = stack.popLast() {
                            let p = Int(top)
                            mass += Double(wt[p])
                            let (qx, qy) = (p % w, p / w)
                            for ny in max(qy - 1, 0)...min(qy + 1, h - 1) {
                                for nx in max(qx - 1, 0)...min(qx + 1, w - 1) {
                                    let q = ny * w + nx
                                    if lab[q] < 0 && dist[q] > threshold {
                                        lab[q] = component
                                        stack.append(Int32(q))
                                    }
                                }
                            }
                        }
                        totalMass += mass
                        largestMass = max(largestMass, mass)
                        component += 1
                    }

                    // 4. Colour of the interior: mask pixels at least two steps from
                    //    the mask's edge. Edges mix with the background over a pixel
                    //    or two (one in the dataset, about two in a generator's
                    //    output), and that ramp is not a colour of the shape. Thinner
                    //    shapes fall back to one step, then to full-weight pixels.
                    func isMask(_ x: Int, _ y: Int) -> Bool { x >= 0 && y >= 0 && x < w && y < h && dist[y * w + x] > threshold }
                    func isInner(_ x: Int, _ y: Int) -> Bool {
                        isMask(x, y) && isMask(x - 1, y) && isMask(x + 1, y) && isMask(x, y - 1) && isMask(x, y + 1)
                    }
                    var interior = 0.0, mr = 0.0, mg = 0.0, mb = 0.0, sq = 0.0
                    for pass in 0..<3 where interior == 0 {
                        for yi in 0..<h {
                            for xi in 0..<w {
                                let p = yi * w + xi
                                let take = switch pass {
                                case 0: isInner(xi, yi) && isInner(xi - 1, yi) && isInner(xi + 1, yi)
                                    && isInner(xi, yi - 1) && isInner(xi, yi + 1)
                                case 1: isInner(xi, yi)
                                default: wt[p] >= 1
                                }
                                guard take else { continue }
                                let (cr, cg, cb) = (Double(r[p]), Double(g[p]), Double(b[p]))
                                interior += 1; mr += cr; mg += cg; mb += cb
                                sq += cr * cr + cg * cg + cb * cb
                            }
                        }
                    }
                    var foreground = background, spread: Float = 0
                    if interior > 0 {
                        mr /= interior; mg /= interior; mb /= interior
                        foreground = [Float(mr), Float(mg), Float(mb)]
                        spread = Float(max(sq / interior - (mr * mr + mg * mg + mb * mb), 0).squareRoot())
                    }

                    let componentFraction = totalMass > 0 ? Float(largestMass / totalMass) : 0
                    let fArea = Float(area)
                    return ShapeStatistics(
                        x: Float(cx / fw), y: Float(cy / fh), area: fArea,
                        orientationCos: trace > 0 ? Float((m20 - m02) / trace) : 0,
                        orientationSin: trace > 0 ? Float(2 * m11 / trace) : 0,
                        hueCos: Float(hueA / chroma), hueSin: Float(hueB / chroma),
                        compactness: trace > 0 ? Float(min(area / (2 * Double.pi * trace), 2)) : 0,
                        backgroundLevel: (bgR + bgG + bgB) / 3,
                        background: background, foreground: foreground, contrast: contrast,
                        componentFraction: componentFraction, colourSpread: spread,
                        borderFraction: borderFraction)
                }
            }
        }
    }
}

/// Calls `body` with the index of every pixel on the image's outer ring, once each.
@inline(__always)
private func forEachBorderPixel(width w: Int, height h: Int, _ body: (Int) -> Void) {
    for x in 0..<w { body(x) }
    if h > 1 { for x in 0..<w { body((h - 1) * w + x) } }
    if h > 2 && w > 0 {
        for y in 1..<(h - 1) {
            body(y * w)
            if w > 1 { body(y * w + w - 1) }
        }
    }
}

/// Per-channel median of the border pixels, through 256-bin histograms
/// (linear time, no sorting; exact to 1/255). The shape never touches the
/// border in the shapes dataset, so the median is the background even when a
/// generated shape does touch it on one side.
private func borderMedian(_ r: UnsafeBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>,
                          _ b: UnsafeBufferPointer<Float>, width w: Int, height h: Int) -> [Float] {
    var histogram = [Int32](repeating: 0, count: 3 * 256)
    var count: Int32 = 0
    forEachBorderPixel(width: w, height: h) { p in
        histogram[Int((r[p] * 255).rounded())] += 1
        histogram[256 + Int((g[p] * 255).rounded())] += 1
        histogram[512 + Int((b[p] * 255).rounded())] += 1
        count += 1
    }
    return (0..<3).map { channel in
        var remaining = count / 2, bin = 0
        while bin < 255 && remaining >= histogram[channel * 256 + bin] {
            remaining -= histogram[channel * 256 + bin]
            bin += 1
        }
        return Float(bin) / 255
    }
}
