/// Number and text formatting for the screen, without Foundation: fixed
/// decimals, a real minus sign (U+2212, as typeset in the design sketch),
/// "—" for absent values.

/// `v` with `decimals` digits after the point; "−" for negatives, "+" in
/// front of positives when `sign` is set. NaN is "nan", infinities "∞"/"−∞".
public func formatFixed(_ v: Double, decimals: Int, sign: Bool = false) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v < 0 ? "−∞" : (sign ? "+∞" : "∞") }
    var scale = 1.0
    for _ in 0..<max(decimals, 0) { scale *= 10 }
    let scaled = (abs(v) * scale).rounded()
    let prefix = v < 0 && scaled != 0 ? "−" : (sign && scaled != 0 ? "+" : "")
    guard scaled < 9e15 else { return prefix + "\(abs(v))" }
    let n = Int64(scaled)
    var digits = String(n)
    if decimals > 0 {
        if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
        digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
    }
    return prefix + digits
}

/// `formatFixed` for optional readouts: "—" when absent.
public func formatReadout(_ v: Double?, decimals: Int, sign: Bool = false) -> String {
    v.map { formatFixed($0, decimals: decimals, sign: sign) } ?? "—"
}

/// A step number as the walk shows it: "+3", "−2", "0".
public func formatStep(_ step: Int) -> String {
    step > 0 ? "+\(step)" : step < 0 ? "−\(-step)" : "0"
}

/// The last `width` values as a sparkline ▁…█, scaled from their minimum to
/// their maximum (all ▁ when they are equal); non-finite values are blanks.
///
/// `minimumSpan` keeps noise flat: when the values spread less than it, the
/// scale is that wide, centred on them (a norm-preserving walk's density
/// drift is rounding noise of 1e-6 and must not fill the bar range).
public func sparkline(_ values: [Double], width: Int, minimumSpan: Double = 0) -> String {
    guard width > 0 else { return "" }
    let shown = values.suffix(width)
    let finite = shown.filter(\.isFinite)
    guard var lo = finite.min(), var hi = finite.max() else { return String(repeating: " ", count: shown.count) }
    if hi - lo < minimumSpan {
        let mid = (lo + hi) / 2
        (lo, hi) = (mid - minimumSpan / 2, mid + minimumSpan / 2)
    }
    let bars = Array("▁▂▃▄▅▆▇█")
    return String(shown.map { v -> Character in
        guard v.isFinite else { return " " }
        guard hi > lo else { return bars[0] }
        return bars[min(7, max(0, Int(((v - lo) / (hi - lo) * 7).rounded())))]
    })
}

/// Superscript digits for "z∈R⁶⁴".
func superscript(_ n: Int) -> String {
    let digits = Array("⁰¹²³⁴⁵⁶⁷⁸⁹")
    return String(String(n).map { $0.wholeNumberValue.map { digits[$0] } ?? $0 })
}

/// Cuts `s` to at most `width` columns, ending in "…" when cut.
public func truncate(_ s: String, width: Int) -> String {
    guard width > 0 else { return "" }
    if displayWidth(s) <= width { return s }
    var out = ""
    var used = 0
    for ch in s {
        let w = displayWidth(ch)
        if used + w > width - 1 { break }
        out.append(ch)
        used += w
    }
    return out + "…"
}

/// `s` cut or right-padded with spaces to exactly `width` columns.
func padded(_ s: String, width: Int) -> String {
    let t = truncate(s, width: width)
    return t + String(repeating: " ", count: max(0, width - displayWidth(t)))
}

/// `s` right-aligned in `width` columns (cut when longer).
func rightAligned(_ s: String, width: Int) -> String {
    let t = truncate(s, width: width)
    return String(repeating: " ", count: max(0, width - displayWidth(t))) + t
}
