import Foundation
import Tensors

// Benchmarks of the tensor engine and of reference DCGAN models
// (`swift run -c release latent-bench [threads]`). Each figure is the median of
// repeated runs after a warm-up; min and max are printed so noise on shared
// machines is visible. `--json` feeds scripts/compare_peers.sh, which sets the
// same rows against PyTorch and ONNX Runtime (scripts/bench_peers.py).

let usage = """
    usage: latent-bench [threads] [--threads N] [--only NAME[,NAME…]] [--repeats N] [--warmup N] [--json] [--list]
      threads      kernel threads; GEMMs are split over them (default: all cores)
      --only       run the rows whose id starts with one of the names (repeatable), e.g. --only dcgan32,sgemm
      --repeats    timed runs per row (default: per row, see --list)
      --warmup     untimed runs before timing (default 2)
      --json       print one JSON document on stdout (progress goes to stderr)
      --list       print the row ids and exit
      --browser CKPT  replay the browser's key script on CKPT (ms per key, render + draw)
    """

struct Options {
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var only: [String] = []
    var repeats: Int?
    var warmup = 2
    var json = false
    var list = false
    /// A checkpoint with directions: also replay the browser's key script on it.
    var browser: String?
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("latent-bench: \(message)\n".utf8))
    exit(64)
}

func parseOptions(_ arguments: [String]) -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(_ flag: String) -> String {
        guard let v = rest.popFirst() else { fail("\(flag) needs a value\n\(usage)") }
        return v
    }
    func positive(_ flag: String, _ text: String, allowZero: Bool = false) -> Int {
        guard let n = Int(text), n > 0 || (allowZero && n == 0) else { fail("\(flag) must be a \(allowZero ? "non-negative" : "positive") integer, is \"\(text)\"") }
        return n
    }
    while let argument = rest.popFirst() {
        // Accept both `--flag value` and `--flag=value`.
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        let flag = parts[0]
        let inline = parts.count == 2 ? parts[1] : nil
        func arg() -> String { inline ?? value(flag) }
        switch flag {
        case "--threads": options.threads = positive(flag, arg())
        case "--only": options.only += arg().split(separator: ",").map(String.init)
        case "--repeats": options.repeats = positive(flag, arg())
        case "--warmup": options.warmup = positive(flag, arg(), allowZero: true)
        case "--json": options.json = true
        case "--list": options.list = true
        case "--browser": options.browser = arg()
        case "-h", "--help": print(usage); exit(0)
        default:
            // The original interface: a bare thread count.
            guard inline == nil, let n = Int(argument), n > 0 else { fail("unknown argument \"\(argument)\"\n\(usage)") }
            options.threads = n
        }
    }
    return options
}

/// The BLAS shared library this process mapped (Debian switches it with update-alternatives).
func blasLibrary() -> String? {
    guard let maps = Memory.procText("/proc/self/maps") else { return nil }
    for line in maps.split(separator: "\n") {
        guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last, path.hasPrefix("/"),
              path.lowercased().contains("blas") else { continue }
        // Resolve Debian's alternatives symlinks to name the variant (openblas-pthread, -openmp, …).
        return URL(fileURLWithPath: String(path)).resolvingSymlinksInPath().path
    }
    return nil
}

/// Pads by characters (String(format:) pads by bytes, which "×" and "→" throw off).
func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func mib(_ kib: Int?) -> Double? { kib.map { Double($0) / 1024 } }

let options = parseOptions(Array(CommandLine.arguments.dropFirst()))
let rows = allRows()
if options.list {
    for row in rows { print(padded(row.id, 30) + String(format: "%3d repeats  ", row.repeats) + row.title) }
    exit(0)
}
// `--browser` alone runs only the key replay; add `--only` for rows as well.
let selected = options.only.isEmpty ? (options.browser == nil ? rows : []) : rows.filter { row in options.only.contains { row.id.hasPrefix($0) } }
if selected.isEmpty && options.browser == nil { fail("--only \(options.only.joined(separator: ",")) matches no row; ids: \(rows.map(\.id).joined(separator: " "))") }

keepFreedMemoryForReuse()
setThreads(options.threads)
let cores = ProcessInfo.processInfo.activeProcessorCount
let library = blasLibrary()
// Progress lines go to stderr in JSON mode so stdout stays one JSON document.
func say(_ line: String) {
    if options.json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
}
say("latent-bench · threads \(options.threads) (GEMMs split over them, OpenBLAS \(blasThreads) per part) · \(cores) cores"
    + (library.map { " · \($0)" } ?? "") + " · warm-up \(options.warmup)")

var results: [[String: Any]] = []
for row in selected {
    let prepared: Prepared
    let m: Measurement
    do {
        prepared = try row.prepare()
        m = try measure(repeats: options.repeats ?? row.repeats, warmup: options.warmup, prepared.body)
    } catch {
        FileHandle.standardError.write(Data("latent-bench: \(row.id): \(error)\n".utf8))
        exit(1)
    }
    var line = padded(row.title, 48) + String(format: " median %9.3f ms  (min %.3f, max %.3f)  n=%d  %d thr",
                                              m.median * 1e3, m.min * 1e3, m.max * 1e3, m.seconds.count, options.threads)
    if let flops = prepared.flops { line += String(format: "  %7.1f GFLOP/s", flops / m.median / 1e9) }
    if let peak = mib(m.peakKiB) { line += String(format: "  peak RSS %.0f MiB", peak) }
    say(line)
    if let note = prepared.note { say("    " + note) }

    var record: [String: Any] = [
        "id": row.id, "title": row.title, "median_s": m.median, "min_s": m.min, "max_s": m.max,
        "samples_s": m.seconds, "repeats": m.seconds.count, "warmup": m.warmup, "threads": options.threads,
        "blas_threads": blasThreads, "peak_is_per_row": m.peakIsPerRow,
    ]
    if let flops = prepared.flops { record["flops"] = flops; record["gflops"] = flops / m.median / 1e9 }
    if let peak = mib(m.peakKiB) { record["peak_rss_mib"] = peak }
    if let start = mib(m.startKiB) { record["start_rss_mib"] = start }
    record.merge(prepared.info) { current, _ in current }
    results.append(record)
}

if let path = options.browser {
    do {
        let result = try runBrowserBenchmark(checkpointPath: path, repeats: options.repeats ?? 5)
        result.report.forEach(say)
        results.append(result.record)
    } catch {
        FileHandle.standardError.write(Data("latent-bench: browser: \(error)\n".utf8))
        exit(1)
    }
}

if options.json {
    let document: [String: Any] = [
        "tool": "latent-bench", "date": ISO8601DateFormatter().string(from: Date()),
        "threads": options.threads, "blas_threads": blasThreads, "cores": cores,
        "blas_library": library ?? "", "warmup": options.warmup, "rows": results,
    ]
    do {
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    } catch {
        fail("cannot encode the results as JSON: \(error)")
    }
}
