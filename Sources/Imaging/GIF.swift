import Tensors
import CGIF

/// Animated GIFs through giflib, for walk previews.
public enum GIF {
    public struct EncodeError: Error, CustomStringConvertible, Equatable, Sendable {
        public let message: String
        public var description: String { "cannot encode GIF: \(message)" }
    }

    /// Encodes `frames` (all the same size) as one animated GIF.
    ///
    /// All frames share one global palette built from every frame (exact when
    /// the animation has at most 256 colours, otherwise a variance-based
    /// median cut) and pixels map to their nearest entry without dithering:
    /// a shared palette and no error diffusion keep still regions still
    /// between frames instead of shimmering. `loop` adds the NETSCAPE2.0
    /// extension with loop count 0 (forever); without it the animation plays
    /// once. Each frame carries a graphics control extension with the delay
    /// (note that browsers show delays below 2 cs as 10 cs).
    public static func encode(_ frames: [RGBImage], delayCentiseconds: Int, loop: Bool) throws(EncodeError) -> [UInt8] {
        guard let first = frames.first else { throw EncodeError(message: "an animation needs at least one frame") }
        let (w, h) = (first.width, first.height)
        for (i, frame) in frames.enumerated() where frame.width != w || frame.height != h {
            throw EncodeError(message: "frame \(i) is \(frame.width)×\(frame.height), frame 0 is \(w)×\(h)")
        }
        guard (1...0xFFFF).contains(w), (1...0xFFFF).contains(h) else {
            throw EncodeError(message: "GIF frames must be 1 to 65535 pixels wide and high, not \(w)×\(h)")
        }
        guard (0...0xFFFF).contains(delayCentiseconds) else {
            throw EncodeError(message: "frame delay \(delayCentiseconds) cs is outside 0…65535")
        }

        let palette = Palette(frames)
        let sink = ByteSink()
        var status: Int32 = 0
        let writer: OutputFunc = { file, data, count in
            guard let file, let data, count >= 0, let user = file.pointee.UserData else { return 0 }
            Unmanaged<ByteSink>.fromOpaque(user).takeUnretainedValue()
                .bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(count)))
            return count
        }
        return try withExtendedLifetime(sink) { () throws(EncodeError) -> [UInt8] in
            guard let gif = EGifOpen(Unmanaged.passUnretained(sink).toOpaque(), writer, &status) else {
                throw EncodeError(message: "giflib: \(errorText(status))")
            }
            var closed = false
            defer { if !closed { EGifCloseFile(gif, &status) } }
            func check(_ result: Int32, _ what: String) throws(EncodeError) {
                guard result != GIF_ERROR else {
                    throw EncodeError(message: "giflib (\(what)): \(errorText(gif.pointee.Error))")
                }
            }

            // Extensions need GIF89a; giflib only infers the version from
            // saved images, not from the streaming calls used here.
            EGifSetGifVersion(gif, true)
            var entries = palette.colors.map { GifColorType(Red: $0.0, Green: $0.1, Blue: $0.2) }
            var mapSize = 2
            while mapSize < entries.count { mapSize *= 2 }
            entries += Array(repeating: GifColorType(Red: 0, Green: 0, Blue: 0), count: mapSize - entries.count)
            guard let map = GifMakeMapObject(Int32(mapSize), &entries) else {
                throw EncodeError(message: "giflib could not allocate a \(mapSize)-colour map")
            }
            defer { GifFreeMapObject(map) }
            try check(EGifPutScreenDesc(gif, Int32(w), Int32(h), 8, 0, map), "screen descriptor")

            if loop {
                try check(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), "loop extension")
                try check(EGifPutExtensionBlock(gif, 11, Array("NETSCAPE2.0".utf8)), "loop extension")
                try check(EGifPutExtensionBlock(gif, 3, [1, 0, 0] as [UInt8]), "loop extension") // sub-block 1, count 0 = forever
                try check(EGifPutExtensionTrailer(gif), "loop extension")
            }

            let control: [UInt8] = [
                0x04, // disposal 1: leave the frame in place; no user input, no transparency
                UInt8(delayCentiseconds & 0xFF), UInt8(delayCentiseconds >> 8),
                0,    // transparent index (unused)
            ]
            var line = [GifPixelType](repeating: 0, count: w)
            var mapper = palette.mapper()
            for frame in frames {
                try check(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, control), "graphics control extension")
                try check(EGifPutImageDesc(gif, 0, 0, Int32(w), Int32(h), false, nil), "image descriptor")
                for y in 0..<h {
                    frame.pixels.withUnsafeBufferPointer { px in
                        line.withUnsafeMutableBufferPointer { out in
                            var s = y * w * 3
                            for x in 0..<w {
                                out[x] = mapper.index(px[s], px[s + 1], px[s + 2])
                                s += 3
                            }
                        }
                    }
                    try check(EGifPutLine(gif, &line, Int32(w)), "image data")
                }
            }
            closed = true
            guard EGifCloseFile(gif, &status) != GIF_ERROR else {
                throw EncodeError(message: "giflib: \(errorText(status))")
            }
            return sink.bytes
        }
    }

    /// Encodes and writes atomically (temporary file + rename).
    public static func write(_ frames: [RGBImage], delayCentiseconds: Int, loop: Bool, to path: String) throws(FileWriteError) {
        let bytes: [UInt8]
        do { bytes = try encode(frames, delayCentiseconds: delayCentiseconds, loop: loop) } catch {
            throw FileWriteError(path: path, error.description)
        }
        try AtomicFile.write(bytes, to: path)
    }

    static func errorText(_ code: Int32) -> String {
        guard let text = GifErrorString(code) else { return "error \(code)" }
        return String(cString: text)
    }

    final class ByteSink { var bytes: [UInt8] = [] }
}

/// Writes an animated GIF atomically; see `GIF.encode` for the palette and
/// timing rules.
public func writeGIF(_ frames: [RGBImage], delayCentiseconds: Int, loop: Bool, to path: String) throws {
    try GIF.write(frames, delayCentiseconds: delayCentiseconds, loop: loop, to: path)
}

/// A palette of at most 256 colours for a set of frames.
struct Palette {
    var colors: [(UInt8, UInt8, UInt8)]

    init(_ frames: [RGBImage], maxColors: Int = 256) {
        if let exact = Palette.distinctColors(frames, limit: maxColors) {
            colors = exact
        } else {
            colors = Palette.medianCut(frames, maxColors: maxColors)
        }
    }

    /// The distinct colours in sorted order, or nil when there are more than `limit`.
    static func distinctColors(_ frames: [RGBImage], limit: Int) -> [(UInt8, UInt8, UInt8)]? {
        var seen = [UInt64](repeating: 0, count: (1 << 24) / 64)
        var found: [UInt32] = []
        for frame in frames {
            let overflow: Bool = frame.pixels.withUnsafeBufferPointer { px in
                seen.withUnsafeMutableBufferPointer { bits in
                    var s = 0
                    while s < px.count {
                        let key = UInt32(px[s]) << 16 | UInt32(px[s + 1]) << 8 | UInt32(px[s + 2])
                        let (word, bit) = (Int(key >> 6), UInt64(1) << UInt64(key & 63))
                        if bits[word] & bit == 0 {
                            bits[word] |= bit
                            found.append(key)
                            if found.count > limit { return true }
                        }
                        s += 3
                    }
                    return false
                }
            }
            if overflow { return nil }
        }
        return found.sorted().map { (UInt8($0 >> 16), UInt8(($0 >> 8) & 0xFF), UInt8($0 & 0xFF)) }
    }

    /// Median cut on a 15-bit histogram: repeatedly split the box with the
    /// largest squared error along its highest-variance axis, at the cut that
    /// minimises the summed squared error of the two halves (a cut at the
    /// plain median can slice a tight cluster in two and merge two others);
    /// each box's colour is the mean of the full-precision pixels it holds.
    static func medianCut(_ frames: [RGBImage], maxColors: Int) -> [(UInt8, UInt8, UInt8)] {
        struct Bin { var count = 0; var sum = (0, 0, 0); var mean: (Float, Float, Float) = (0, 0, 0) }
        var histogram = [Bin](repeating: Bin(), count: 1 << 15)
        for frame in frames {
            frame.pixels.withUnsafeBufferPointer { px in
                histogram.withUnsafeMutableBufferPointer { hist in
                    var s = 0
                    while s < px.count {
                        let (r, g, b) = (Int(px[s]), Int(px[s + 1]), Int(px[s + 2]))
                        let key = (r >> 3) << 10 | (g >> 3) << 5 | (b >> 3)
                        hist[key].count += 1
                        hist[key].sum.0 += r; hist[key].sum.1 += g; hist[key].sum.2 += b
                        s += 3
                    }
                }
            }
        }
        var bins = histogram.filter { $0.count > 0 }
        for i in bins.indices {
            let n = Float(bins[i].count)
            bins[i].mean = (Float(bins[i].sum.0) / n, Float(bins[i].sum.1) / n, Float(bins[i].sum.2) / n)
        }

        struct Box { var range: Range<Int>; var error: Double; var axis: Int }
        func makeBox(_ range: Range<Int>) -> Box {
            // Double: counts times squared byte values overflow Float's precision.
            var n = 0.0, s = SIMD3<Double>.zero, q = SIMD3<Double>.zero
            for b in bins[range] {
                let c = Double(b.count), m = SIMD3(Double(b.mean.0), Double(b.mean.1), Double(b.mean.2))
                n += c; s += c * m; q += c * m * m
            }
            let e = q - s * s / n
            let axis = e[0] >= e[1] && e[0] >= e[2] ? 0 : (e[1] >= e[2] ? 1 : 2)
            return Box(range: range, error: range.count > 1 ? max(e.sum(), 0) : -1, axis: axis)
        }
        func component(_ b: Bin, _ axis: Int) -> Float { axis == 0 ? b.mean.0 : (axis == 1 ? b.mean.1 : b.mean.2) }
        /// With the box sorted along one axis, the split index whose two sides
        /// have the least total squared error (over all three channels),
        /// from prefix sums in one pass.
        func bestCut(_ range: Range<Int>) -> Int {
            var total: (n: Double, s: SIMD3<Double>, q: Double) = (0, .zero, 0)
            for b in bins[range] {
                let c = Double(b.count), m = SIMD3(Double(b.mean.0), Double(b.mean.1), Double(b.mean.2))
                total.n += c; total.s += c * m; total.q += c * (m * m).sum()
            }
            var left: (n: Double, s: SIMD3<Double>, q: Double) = (0, .zero, 0)
            var best = range.lowerBound + 1, bestError = Double.infinity
            for i in range.dropLast() {
                let b = bins[i]
                let c = Double(b.count), m = SIMD3(Double(b.mean.0), Double(b.mean.1), Double(b.mean.2))
                left.n += c; left.s += c * m; left.q += c * (m * m).sum()
                let rn = total.n - left.n, rs = total.s - left.s, rq = total.q - left.q
                let error = (left.q - (left.s * left.s).sum() / left.n) + (rq - (rs * rs).sum() / rn)
                if error < bestError { (best, bestError) = (i + 1, error) }
            }
            return best
        }

        var boxes = [makeBox(0..<bins.count)]
        while boxes.count < maxColors {
            guard let (index, box) = boxes.enumerated().max(by: { $0.element.error < $1.element.error }).map({ ($0.offset, $0.element) }),
                  box.error > 0 else { break }
            bins[box.range].sort { component($0, box.axis) < component($1, box.axis) }
            let cut = bestCut(box.range)
            boxes[index] = makeBox(box.range.lowerBound..<cut)
            boxes.append(makeBox(cut..<box.range.upperBound))
        }
        return boxes.map { box in
            var n = 0, s = (0, 0, 0)
            for b in bins[box.range] { n += b.count; s.0 += b.sum.0; s.1 += b.sum.1; s.2 += b.sum.2 }
            return (UInt8((s.0 + n / 2) / n), UInt8((s.1 + n / 2) / n), UInt8((s.2 + n / 2) / n))
        }
    }

    func mapper() -> Mapper { Mapper(colors) }

    /// Nearest palette entry (squared RGB distance). The palette is sorted by
    /// red so the search can start at the query's red and stop once the red
    /// difference alone exceeds the best distance (usually a few dozen
    /// entries, not 256); a direct-mapped cache catches the colours that
    /// frames of a walk repeat.
    struct Mapper {
        let sorted: [SIMD4<Int32>] // r, g, b, palette index
        var keys = [UInt32](repeating: UInt32.max, count: 1 << 16)
        var values = [UInt8](repeating: 0, count: 1 << 16)

        init(_ colors: [(UInt8, UInt8, UInt8)]) {
            sorted = colors.enumerated()
                .map { SIMD4(Int32($0.element.0), Int32($0.element.1), Int32($0.element.2), Int32($0.offset)) }
                .sorted { $0[0] < $1[0] }
        }

        mutating func index(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
            let key = UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
            let slot = Int((key &* 2_654_435_761) >> 16)
            if keys[slot] == key { return values[slot] }
            let best = sorted.withUnsafeBufferPointer { p in Mapper.nearest(p, Int32(r), Int32(g), Int32(b)) }
            keys[slot] = key
            values[slot] = best
            return best
        }

        static func nearest(_ p: UnsafeBufferPointer<SIMD4<Int32>>, _ r: Int32, _ g: Int32, _ b: Int32) -> UInt8 {
            // First entry with red ≥ r.
            var lo = 0, hi = p.count
            while lo < hi { let mid = (lo + hi) / 2; if p[mid][0] < r { lo = mid + 1 } else { hi = mid } }
            var best: Int32 = 0, bestDistance = Int32.max
            var up = lo, down = lo - 1
            while up < p.count || down >= 0 {
                if up < p.count {
                    let c = p[up]
                    let dr = c[0] - r
                    if dr * dr >= bestDistance { up = p.count } else {
                        let d = dr * dr + (c[1] - g) * (c[1] - g) + (c[2] - b) * (c[2] - b)
                        if d < bestDistance { (best, bestDistance) = (c[3], d) }
                        up += 1
                    }
                }
                if down >= 0 {
                    let c = p[down]
                    let dr = c[0] - r
                    if dr * dr >= bestDistance { down = -1 } else {
                        let d = dr * dr + (c[1] - g) * (c[1] - g) + (c[2] - b) * (c[2] - b)
                        if d < bestDistance { (best, bestDistance) = (c[3], d) }
                        down -= 1
                    }
                }
            }
            return UInt8(best)
        }
    }
}
