// Raw im2col / col2im loops shared by the differentiable ops and the
// inference plans (which run them on preallocated workspaces).

/// Unfolds the windows of an [N, C, H, W] image into columns
/// [C·kh·kw, N·OH·OW]: row (c, i, j), column (n, oy, ox).
public func unfoldWindows(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                          n: Int, c: Int, h: Int, w: Int, _ geometry: ConvGeometry) {
    let (kh, kw, s, p) = (geometry.kernelH, geometry.kernelW, geometry.stride, geometry.padding)
    let (oh, ow) = geometry.outputSize(h: h, w: w)
    let columns = n * oh * ow
    // One task per input plane (channel, image): their column segments never
    // overlap, and the plane stays in cache for all kh·kw taps. Planes rather
    // than channels, so that a 3-channel image still splits evenly.
    parallelFor(c * n, cost: kh * kw * oh * ow) { task in
        let (ch, b) = (task / n, task % n)
        do {
            let plane = input + (b * c + ch) * h * w
            for i in 0..<kh {
                for j in 0..<kw {
                    let (start, end) = validRange(offset: j - p, stride: s, size: w, count: ow)
                    let row = output + ((ch * kh + i) * kw + j) * columns + b * oh * ow
                    for oy in 0..<oh {
                        let dst = row + oy * ow
                        let iy = oy * s - p + i
                        if iy < 0 || iy >= h || start >= end {
                            dst.update(repeating: 0, count: ow)
                            continue
                        }
                        if start > 0 { dst.update(repeating: 0, count: start) }
                        if end < ow { (dst + end).update(repeating: 0, count: ow - end) }
                        let src = plane + iy * w + (j - p)
                        if s == 1 {
                            (dst + start).update(from: src + start, count: end - start)
                        } else {
                            for ox in start..<end { dst[ox] = src[ox * s] }
                        }
                    }
                }
            }
        }
    }
}

/// Folds columns [C·kh·kw, N·OH·OW] into an [N, C, H, W] image, summing
/// overlaps (the adjoint of `unfoldWindows`). The image need not be zeroed.
/// `finishPlane(channel, image)` runs right after that plane is complete, on
/// the same thread, while it is still in L1 (fused epilogues).
public func foldWindows(_ columns: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>,
                        n: Int, c: Int, h: Int, w: Int, _ geometry: ConvGeometry,
                        finishPlane: ((_ channel: Int, _ image: Int) -> Void)? = nil) {
    let (kh, kw, s, p) = (geometry.kernelH, geometry.kernelW, geometry.stride, geometry.padding)
    let (oh, ow) = geometry.outputSize(h: h, w: w)
    let count = n * oh * ow
    // One task per image plane (channel, image): each writes only its own plane,
    // and all kh·kw taps land in it while it is in cache.
    parallelFor(c * n, cost: kh * kw * oh * ow) { task in
        let (ch, b) = (task / n, task % n)
        do {
            let plane = image + (b * c + ch) * h * w
            plane.update(repeating: 0, count: h * w)
            for i in 0..<kh {
                for j in 0..<kw {
                    let (start, end) = validRange(offset: j - p, stride: s, size: w, count: ow)
                    if start >= end { continue }
                    let rows = columns + ((ch * kh + i) * kw + j) * count + b * oh * ow
                    for oy in 0..<oh {
                        let iy = oy * s - p + i
                        if iy < 0 || iy >= h { continue }
                        let src = rows + oy * ow
                        let dst = plane + iy * w + (j - p)
                        for ox in start..<end { dst[ox * s] += src[ox] }
                    }
                }
            }
            finishPlane?(ch, b)
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

