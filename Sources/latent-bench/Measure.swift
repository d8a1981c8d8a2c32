import Foundation

// Timing and memory for latent-bench. Every row is timed the same way: `warmup`
// untimed calls (first-touch allocation, BLAS thread start-up, caches), then
// `repeats` timed calls; the median is the headline figure and min/max show how
// noisy the machine was.

struct Measurement {
    let seconds: [Double]
    let warmup: Int
    /// Resident-set high-water mark while the row ran (warm-up included), and the RSS when it began, in KiB.
    let peakKiB: Int?
    let startKiB: Int?
    /// False when the kernel would not reset the high-water mark: then `peakKiB` is the whole process's peak so far.
    let peakIsPerRow: Bool

    var median: Double {
        let s = seconds.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }
    var min: Double { seconds.min() ?? 0 }
    var max: Double { seconds.max() ?? 0 }
}

func measure(repeats: Int, warmup: Int, _ body: () throws -> Void) rethrows -> Measurement {
    let perRow = Memory.resetPeak()
    let start = Memory.statusKiB("VmRSS")
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    times.reserveCapacity(repeats)
    for _ in 0..<repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    let peak = perRow ? Memory.statusKiB("VmHWM") : Memory.processPeakKiB()
    return Measurement(seconds: times, warmup: warmup, peakKiB: peak, startKiB: start, peakIsPerRow: perRow)
}

/// Peak resident memory. Linux lets a process reset its own high-water mark
/// (`echo 5 > /proc/self/clear_refs`, since 4.0), which gives a peak per row
/// instead of the monotone `ru_maxrss` of the whole process.
enum Memory {
    static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// A /proc file read to its end (they report size 0, so size-based readers get nothing or a prefix).
    static func procText(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return (try? handle.readToEnd()).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A `kB` field of /proc/self/status (VmRSS, VmHWM).
    static func statusKiB(_ key: String) -> Int? {
        guard let text = procText("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return line.split(separator: " ").compactMap { Int($0) }.first
        }
        return nil
    }

    /// ru_maxrss: KiB on Linux, bytes on macOS.
    static func processPeakKiB() -> Int? {
        var usage = rusage()
        #if os(macOS)
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
        return Int(usage.ru_maxrss) / 1024
        #else
        // Glibc imports RUSAGE_SELF as an enum case; the call wants its raw value.
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return nil }
        return Int(usage.ru_maxrss)
        #endif
    }
}
