#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A colour in OKLab (Björn Ottosson, 2020): Euclidean distances there track
/// perceived differences far better than in sRGB, which is what picking
/// the "nearest" palette entry needs (sRGB distance, for example, maps dark
/// saturated colours to grey).
public struct OKLab: Hashable, Sendable {
    public var l: Float
    public var a: Float
    public var b: Float

    public init(_ c: RGB) {
        let r = OKLab.linear[Int(c.r)], g = OKLab.linear[Int(c.g)], bl = OKLab.linear[Int(c.b)]
        let l = cbrtf(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * bl)
        let m = cbrtf(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * bl)
        let s = cbrtf(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * bl)
        self.l = 0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s
        self.a = 1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s
        self.b = 0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s
    }

    public func distanceSquared(_ o: OKLab) -> Float {
        let dl = l - o.l, da = a - o.a, db = b - o.b
        return dl * dl + da * da + db * db
    }

    /// sRGB byte → linear intensity.
    static let linear: [Float] = (0..<256).map { v in
        let c = Float(v) / 255
        return c <= 0.04045 ? c / 12.92 : powf((c + 0.055) / 1.055, 2.4)
    }
}

/// Maps 24-bit colours onto the palettes of terminals without truecolor.
///
/// 256 colours: only the 6×6×6 cube (16–231) and the grey ramp (232–255) are
/// candidates. Indices 0–15 are skipped on purpose: colour themes redefine
/// them, so their RGB value is unknown. The nearest entry is chosen in OKLab.
/// No dithering: in an animated walk, error diffusion shimmers from frame to
/// frame.
public enum ColorQuantizer {
    /// The cube's six channel levels, as xterm defines them.
    public static let cubeLevels: [UInt8] = [0, 95, 135, 175, 215, 255]

    /// The RGB value of a 256-colour index in 16…255.
    public static func xterm256Color(_ index: Int) -> RGB {
        precondition((16...255).contains(index), "index \(index) is not in the cube or grey ramp")
        if index >= 232 {
            let v = UInt8(8 + 10 * (index - 232))
            return RGB(v, v, v)
        }
        let i = index - 16
        return RGB(cubeLevels[i / 36], cubeLevels[(i / 6) % 6], cubeLevels[i % 6])
    }

    private static let palette256: [OKLab] = (16...255).map { OKLab(xterm256Color($0)) }

    /// The nearest 256-colour index (16…255) in OKLab.
    public static func xterm256(_ c: RGB) -> Int {
        nearest(OKLab(c), in: palette256) + 16
    }

    /// The eight basic colours at xterm's default values. Themes change them,
    /// so this is only the last-resort fallback for 8-colour terminals.
    public static let ansi8Colors: [RGB] = [
        RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0),
        RGB(0, 0, 238), RGB(205, 0, 205), RGB(0, 205, 205), RGB(229, 229, 229),
    ]
    private static let palette8: [OKLab] = ansi8Colors.map(OKLab.init)

    /// The nearest of the eight basic colours (0…7) in OKLab.
    public static func ansi8(_ c: RGB) -> Int { nearest(OKLab(c), in: palette8) }

    /// The colour value for a direct-colour (`*-direct` terminfo) terminal:
    /// packed 0xRRGGBB. Values below 8 would go out as palette indices
    /// (`#000001` shows as red), so those get green 1, invisibly different.
    public static func direct(_ c: RGB) -> Int32 {
        let packed = Int32(c.r) << 16 | Int32(c.g) << 8 | Int32(c.b)
        return packed < 8 ? packed | 0x100 : packed
    }

    private static func nearest(_ lab: OKLab, in palette: [OKLab]) -> Int {
        var best = 0
        var bestDistance = Float.infinity
        for (i, p) in palette.enumerated() {
            let d = lab.distanceSquared(p)
            if d < bestDistance { (best, bestDistance) = (i, d) }
        }
        return best
    }
}
