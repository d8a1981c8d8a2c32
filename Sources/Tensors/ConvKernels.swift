// Raw im2col / col2im loops shared by the differentiable ops and the
// inference plans (which run them on preallocated workspaces).

/// Unfolds the windows of an [N, C, H, W] image into columns
/// [C·kh·kw, N·OH·OW]: row (c, i, j), column (n, oy, ox).
public func unfoldWindows(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                          n: Int, c: Int, h: Int, w: Int, _ geometry: ConvGeometry) {
    let (kh, kw, p) = (geometry.kernelH, geometry.kernelW, geometry.padding)
    let (oh, ow) = geometry.outputSize(h: h, w: w)
    let columns = n * oh * ow
    let layout = PhaseLayout(geometry, h: h, w: w, outputWidth: ow)
    // One task per input plane (channel, image): their column segments never
    // overlap, and the plane stays in cache for all kh·kw taps. Planes rather
    // than channels, so that a 3-channel image still splits evenly.
    parallelFor(c * n, cost: kh * kw * oh * ow) { task in
        let (ch, b) = (task / n, task % n)
        func copyTaps(from source: UnsafePointer<Float>) {
            for i in 0..<kh {
                for j in 0..<kw {
                    let (start, end) = validRange(offset: j - p, stride: geometry.stride, size: w, count: ow)
                    let tapStart = layout.tapStart(offset: j - p)
                    let row = output + ((ch * kh + i) * kw + j) * columns + b * oh * ow
                    for oy in 0..<oh {
                        let dst = row + oy * ow
                        let iy = oy * geometry.stride - p + i
                        if iy < 0 || iy >= h || start >= end {
                            dst.update(repeating: 0, count: ow)
                            continue
                        }
                        if start > 0 { dst.update(repeating: 0, count: start) }
                        if end < ow { (dst + end).update(repeating: 0, count: ow - end) }
                        let src = source + tapStart + iy * layout.rowLength
                        if layout.step == 1 {
                            for ox in start..<end { dst[ox] = src[ox] }
                        } else {
                            for ox in start..<end { dst[ox] = src[ox * layout.step] }
                        }
                    }
                }
            }
        }
        let plane = input + (b * c + ch) * h * w
        if p > 0 && (geometry.stride > 1 || ow < BorderedPlane.rowsUnder) {
            // The bounds checks and border fills of `copyTaps` cost more than short rows'
            // copies, and a strided tap reads a bordered plane faster than the phase split
            // (`latent-bench` im2col rows): read every tap from a zero-bordered copy.
            let bordered = BorderedPlane(h: h, w: w, padding: p)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: bordered.count) { buffer in
                let padded = buffer.baseAddress!
                bordered.fill(padded, from: plane)
                for i in 0..<kh {
                    for j in 0..<kw {
                        let row = output + ((ch * kh + i) * kw + j) * columns + b * oh * ow
                        for oy in 0..<oh {
                            let (src, dst) = (padded + (oy * geometry.stride + i) * bordered.width + j, row + oy * ow)
                            for ox in 0..<ow { dst[ox] = src[ox * geometry.stride] }
                        }
                    }
                }
            }
        } else if layout.isSplit {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: layout.count) { split in
                layout.split(plane, into: split.baseAddress!)
                copyTaps(from: split.baseAddress!)
            }
        } else {
            copyTaps(from: plane)
        }
    }
}

/// A plane with `padding` zeros on every side, for window taps without bounds checks.
struct BorderedPlane {
    /// Output rows shorter than this take the bordered copy; longer stride-1 rows amortise
    /// the checks and stay one contiguous, vectorised copy. (col2im keeps the phase split
    /// for long strided rows: its scatter-add into a bordered plane measured slower.)
    static let rowsUnder = 16
    let h: Int, w: Int, padding: Int
    var width: Int { w + 2 * padding }
    var count: Int { (h + 2 * padding) * width }

    func fill(_ out: UnsafeMutablePointer<Float>, from plane: UnsafePointer<Float>) {
        out.update(repeating: 0, count: count)
        for y in 0..<h { (out + (y + padding) * width + padding).update(from: plane + y * w, count: w) }
    }

    func copyInterior(_ bordered: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>) {
        for y in 0..<h { (plane + y * w).update(from: bordered + (y + padding) * width + padding, count: w) }
    }
}

/// Folds columns [C·kh·kw, N·OH·OW] into an [N, C, H, W] image, summing
/// overlaps (the adjoint of `unfoldWindows`). The image need not be zeroed.
/// `finishPlane(channel, image)` runs right after that plane is complete, on
/// the same thread, while it is still in L1 (fused epilogues).
public func foldWindows(_ columns: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>,
                        n: Int, c: Int, h: Int, w: Int, _ geometry: ConvGeometry,
                        finishPlane: ((_ channel: Int, _ image: Int) -> Void)? = nil) {
    let (kh, kw, p) = (geometry.kernelH, geometry.kernelW, geometry.padding)
    let (oh, ow) = geometry.outputSize(h: h, w: w)
    let count = n * oh * ow
    let layout = PhaseLayout(geometry, h: h, w: w, outputWidth: ow)
    // One task per image plane (channel, image): each writes only its own plane,
    // and all kh·kw taps land in it while it is in cache.
    parallelFor(c * n, cost: kh * kw * oh * ow) { task in
        let (ch, b) = (task / n, task % n)
        func addTaps(into target: UnsafeMutablePointer<Float>) {
            for i in 0..<kh {
                for j in 0..<kw {
                    let (start, end) = validRange(offset: j - p, stride: geometry.stride, size: w, count: ow)
                    if start >= end { continue }
                    let tapStart = layout.tapStart(offset: j - p)
                    let rows = columns + ((ch * kh + i) * kw + j) * count + b * oh * ow
                    for oy in 0..<oh {
                        let iy = oy * geometry.stride - p + i
                        if iy < 0 || iy >= h { continue }
                        let src = rows + oy * ow
                        let dst = target + tapStart + iy * layout.rowLength
                        if layout.step == 1 {
                            for ox in start..<end { dst[ox] += src[ox] }
                        } else {
                            for ox in start..<end { dst[ox * layout.step] += src[ox] }
                        }
                    }
                }
            }
        }
        let plane = image + (b * c + ch) * h * w
        if layout.isSplit {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: layout.count) { split in
                split.baseAddress!.update(repeating: 0, count: layout.count)
                addTaps(into: split.baseAddress!)
                layout.merge(split.baseAddress!, into: plane)
            }
        } else if p > 0 && ow < BorderedPlane.rowsUnder {
            // As in `unfoldWindows`: sum the taps into a zero-bordered plane, keep its interior.
            let bordered = BorderedPlane(h: h, w: w, padding: p)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: bordered.count) { buffer in
                let padded = buffer.baseAddress!
                padded.update(repeating: 0, count: bordered.count)
                for i in 0..<kh {
                    for j in 0..<kw {
                        let rows = columns + ((ch * kh + i) * kw + j) * count + b * oh * ow
                        for oy in 0..<oh {
                            let (src, dst) = (rows + oy * ow, padded + (oy * geometry.stride + i) * bordered.width + j)
                            for ox in 0..<ow { dst[ox * geometry.stride] += src[ox] }
                        }
                    }
                }
                bordered.copyInterior(padded, into: plane)
            }
        } else {
            plane.update(repeating: 0, count: h * w)
            addTaps(into: plane)
        }
        finishPlane?(ch, b)
    }
}

/// Where a window tap finds its input column. A strided window reads every
/// s-th column, a gather too short to vectorize; splitting a plane's columns
/// into their s phases (x mod s) once makes every tap a contiguous run. That
/// pays only when output rows are long enough (16+); otherwise taps read the
/// plane in place with step s.
struct PhaseLayout {
    let stride: Int, h: Int, w: Int
    let isSplit: Bool
    /// Width of one phase's rows (split) or of the plane's rows (in place).
    let rowLength: Int
    /// Distance between neighbouring output columns in the source.
    var step: Int { isSplit ? 1 : stride }
    /// Floats in the split copy of one plane.
    var count: Int { stride * h * rowLength }

    init(_ geometry: ConvGeometry, h: Int, w: Int, outputWidth: Int) {
        (stride, self.h, self.w) = (geometry.stride, h, w)
        isSplit = geometry.stride > 1 && outputWidth >= 16
        rowLength = isSplit ? (w + geometry.stride - 1) / geometry.stride : w
    }

    /// Source index (before adding iy·rowLength) of output column 0 for a tap whose
    /// input column is ox·s + offset: split, that column is entry ox + shift of phase
    /// φ, where offset = shift·s + φ with 0 ≤ φ < s.
    @inline(__always)
    func tapStart(offset: Int) -> Int {
        guard isSplit else { return offset }
        let phase = ((offset % stride) + stride) % stride
        return phase * h * rowLength + (offset - phase) / stride
    }

    /// Phase-major copy of a plane: phase φ, row y, entry k holds plane[y][k·s + φ].
    func split(_ plane: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for phase in 0..<stride {
            for y in 0..<h {
                let (src, dst) = (plane + y * w, out + (phase * h + y) * rowLength)
                var (x, k) = (phase, 0)
                while x < w { dst[k] = src[x]; x += stride; k += 1 }
            }
        }
    }

    /// Inverse of `split`.
    func merge(_ phases: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>) {
        for phase in 0..<stride {
            for y in 0..<h {
                let (src, dst) = (phases + (phase * h + y) * rowLength, plane + y * w)
                var (x, k) = (phase, 0)
                while x < w { dst[x] = src[k]; x += stride; k += 1 }
            }
        }
    }
}

/// The window positions ox in 0..<count whose input column ox·stride + offset lies in 0..<size.
@inline(__always)
func validRange(offset: Int, stride: Int, size: Int, count: Int) -> (Int, Int) {
    // ox·s + offset ≥ 0  ⇔  ox ≥ ceil(−offset / s);  ox·s + offset < size  ⇔  ox < ceil((size − offset) / s)
    let start = offset >= 0 ? 0 : (-offset + stride - 1) / stride
    let end = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride
    return (min(start, count), max(min(end, count), min(start, count)))
}

