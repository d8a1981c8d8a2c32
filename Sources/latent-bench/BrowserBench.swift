import Foundation
import Latent
import NN
import Tensors
import TUI

// The browser's key-to-screen time: a key script replayed through the same
// path the app takes for every key (KeyMap → reduce → FrameRequest →
// BrowserEngine.render → BrowserSession.apply → draw), on a 120×40
// MemoryScreen. The app runs render on a worker thread; here it runs inline,
// so each figure is what one key costs before its frame can be flushed.
//
// A second set of figures adds the real terminal update: the same frame drawn
// on an NcursesScreen (truecolor, the most bytes per cell) over a
// pseudo-terminal and flushed. "app" counts render (wall) plus the CPU time
// of drawing and flushing; "wall" also counts the time write(2) waits for
// the pseudo-terminal's reader, which on a loaded machine can dominate and
// which a real terminal emulator's own speed would set.

/// One key's timing in the replay.
struct BrowserKeyTiming {
    /// What the key does: step, direction, mode, stride, compare, other.
    var kind: String
    /// Render + draw on the MemoryScreen (wall clock).
    var milliseconds: Double
    /// Render (wall) + NcursesScreen draw and flush (thread CPU time); nil
    /// without a pseudo-terminal.
    var appMilliseconds: Double?
    /// Render + NcursesScreen draw and flush, wall clock.
    var terminalWallMilliseconds: Double?
    /// Generator rows the key needed (0: everything came from the cache).
    var renderedRows: Int
}

/// Figures of one benchmark run.
struct BrowserBenchmarkResult {
    var checkpoint: String
    var imageSize: String
    var screen: TerminalSize
    var repeats: Int
    /// The pseudo-terminal screen's colour mode ("" without one).
    var terminalColors: String
    /// Bytes written to the pseudo-terminal per key, on average.
    var terminalBytesPerKey: Double
    var timings: [BrowserKeyTiming]

    enum Figure { case memory, app, terminalWall }

    /// Median, min and max in ms of one figure for the keys of one kind (nil: all).
    func stats(_ kind: String? = nil, _ figure: Figure = .memory) -> (count: Int, median: Double, min: Double, max: Double)? {
        let chosen = timings.filter { kind == nil || $0.kind == kind }
        let values: [Double]
        switch figure {
        case .memory: values = chosen.map(\.milliseconds)
        case .app: values = chosen.compactMap(\.appMilliseconds)
        case .terminalWall: values = chosen.compactMap(\.terminalWallMilliseconds)
        }
        let sorted = values.sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        let mid = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        return (sorted.count, median, first, last)
    }

    /// The step key's median: the figure the 16 ms target is about.
    var stepMedian: Double? { stats("step")?.median }
    /// The same with the terminal update (draw + flush CPU) included.
    var stepAppMedian: Double? { stats("step", .app)?.median }

    /// A row for `--json` output (milliseconds).
    var record: [String: Any] {
        var record: [String: Any] = ["id": "browser-keys", "checkpoint": checkpoint, "image_size": imageSize,
                                     "screen": screen.description, "replays": repeats, "keys": timings.count]
        for kind in ["step", "direction", "stride", "mode", "compare", "other"] {
            if let s = stats(kind) { record["\(kind)_median_ms"] = s.median; record["\(kind)_max_ms"] = s.max }
            if let s = stats(kind, .app) { record["\(kind)_terminal_app_median_ms"] = s.median }
            if let s = stats(kind, .terminalWall) { record["\(kind)_terminal_wall_median_ms"] = s.median }
        }
        if !terminalColors.isEmpty {
            record["terminal_colors"] = terminalColors
            record["terminal_bytes_per_key"] = terminalBytesPerKey
        }
        return record
    }

    /// Lines for the terminal (and the README).
    var report: [String] {
        func line(_ label: String, _ s: (count: Int, median: Double, min: Double, max: Double), _ tail: String = "") -> String {
            // %-10@ does not pad on Linux: pad by hand.
            "  " + label.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: " %4d keys  median %7.2f ms  min %7.2f  max %7.2f", s.count, s.median, s.min, s.max) + tail
        }
        var lines = ["browser key → frame: render + draw on a \(screen) MemoryScreen, \(imageSize) generator "
                     + "\((checkpoint as NSString).lastPathComponent), \(repeats) replays of the key script"]
        for kind in ["step", "direction", "stride", "mode", "compare", "other", nil] as [String?] {
            guard let s = stats(kind) else { continue }
            let rows = timings.filter { kind == nil || $0.kind == kind }.map(\.renderedRows)
            let meanRows = Double(rows.reduce(0, +)) / Double(max(rows.count, 1))
            lines.append(line(kind ?? "all", s, String(format: "  (%.1f generator rows/key)", meanRows)))
        }
        if let step = stats("step", .app), let all = stats(nil, .app) {
            lines.append("with the terminal update: NcursesScreen (\(terminalColors)) draw + flush CPU, "
                         + String(format: "%.1f kB/key to a pseudo-terminal", terminalBytesPerKey / 1000))
            lines.append(line("step", step))
            lines.append(line("all", all))
            if let wall = stats("step", .terminalWall) {
                lines.append(String(format: "  (wall clock, waiting for the pseudo-terminal's reader included: step median %.2f ms, max %.2f)",
                                    wall.median, wall.max))
            }
        }
        if let step = stepMedian {
            var summary = String(format: "step key median %.2f ms (render + draw)", step)
            if let app = stepAppMedian { summary += String(format: ", %.2f ms with the terminal update", app) }
            summary += ": " + (max(step, stepAppMedian ?? 0) < 16 ? "within" : "OVER") + " the 16 ms target"
            lines.append(summary)
        }
        return lines
    }
}

/// The replayed keys: 50 steps right, directions down and back up, walk
/// modes, stride changes, a method switch, the compare view, steps left.
let browserKeyScript: [(Key, String)] = {
    var keys: [(Key, String)] = []
    keys += Array(repeating: (Key.right, "step"), count: 50)
    keys += Array(repeating: (Key.down, "direction"), count: 10)
    keys += Array(repeating: (Key.up, "direction"), count: 10)
    keys += [(.char("m"), "mode"), (.char("m"), "mode"), (.char("m"), "mode")]
    keys += Array(repeating: (Key.char("+"), "stride"), count: 3) + Array(repeating: (Key.char("-"), "stride"), count: 3)
    keys += [(.char("d"), "other"), (.char("0"), "other"), (.char("d"), "other")]
    keys += [(.char("c"), "compare")] + Array(repeating: (Key.right, "compare"), count: 5) + [(.char("c"), "compare")]
    keys += Array(repeating: (Key.left, "step"), count: 20)
    return keys
}()

/// Milliseconds of CPU time the calling thread has used.
private func threadCPUMilliseconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
}

private func wallMilliseconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

/// Replays `browserKeyScript` `repeats` times (after one untimed warm-up
/// replay), each time with a fresh session and an empty frame cache, on the
/// checkpoint at `checkpointPath` (which needs a direction set).
///
/// Call from main.swift after `setThreads`, e.g. for a `--browser CKPT` flag:
///
///     if let path = options.browser {
///         let result = try runBrowserBenchmark(checkpointPath: path, repeats: options.repeats ?? 5)
///         result.report.forEach(say)
///         results.append(result.record)
///     }
func runBrowserBenchmark(checkpointPath: String, repeats: Int = 5,
                         screenSize: TerminalSize = TerminalSize(rows: 40, cols: 120)) throws -> BrowserBenchmarkResult {
    let checkpoint = try Checkpoint.load(path: checkpointPath)
    var timings: [BrowserKeyTiming] = []
    var imageSize = ""
    let pty = PseudoTerminal(rows: screenSize.rows, cols: screenSize.cols)
    let terminal = pty.flatMap {
        try? NcursesScreen(input: $0.slave, output: $0.slave,
                           environment: ["TERM": "xterm-256color", "COLORTERM": "truecolor"], locale: "C.UTF-8")
    }
    defer {
        terminal?.close()
        pty?.close()
    }
    var (timedBytes, timedKeys) = (0, 0)
    for replay in 0...max(repeats, 1) {
        let (context, state) = try makeBrowser(checkpoint: checkpoint, path: checkpointPath, origin: .seed(7),
                                               outputFolder: NSTemporaryDirectory())
        imageSize = "\(context.header.imageWidth)×\(context.header.imageHeight)"
        let session = BrowserSession(context: context, state: state, screenSize: screenSize)
        let engine = BrowserEngine(checkpoint: checkpoint, context: context)
        let screen = MemoryScreen(rows: screenSize.rows, cols: screenSize.cols)
        // The first frame (the app draws it at start, before any key).
        _ = session.apply(engine.render(session.makeRequest()))
        draw(session.model, on: screen)
        if let terminal {
            draw(session.model, on: terminal)
            terminal.flush()
        }
        usleep(100_000)   // let the reader drain the first frame before counting
        let bytesBefore = pty?.bytesRead ?? 0
        for (key, kind) in browserKeyScript {
            guard let action = KeyMap.browser.action(for: key, editingText: false) else { continue }
            let start = wallMilliseconds()
            var rows = 0
            switch session.send(action) {
            case .render(let request):
                let result = engine.render(request)
                rows = result.renderedRows
                session.apply(result)
            case .none, .draw, .write, .saveLabel, .quit:
                break
            }
            let rendered = wallMilliseconds()
            draw(session.model, on: screen)
            screen.flush()
            let drawn = wallMilliseconds()
            var timing = BrowserKeyTiming(kind: kind, milliseconds: drawn - start, renderedRows: rows)
            if let terminal {
                let (wall0, cpu0) = (wallMilliseconds(), threadCPUMilliseconds())
                draw(session.model, on: terminal)
                terminal.flush()
                let (wall1, cpu1) = (wallMilliseconds(), threadCPUMilliseconds())
                timing.appMilliseconds = rendered - start + cpu1 - cpu0
                timing.terminalWallMilliseconds = rendered - start + wall1 - wall0
            }
            if replay > 0 { timings.append(timing) }
        }
        if replay > 0, let pty {
            usleep(100_000)
            timedBytes += pty.bytesRead - bytesBefore
            timedKeys += browserKeyScript.count
        }
    }
    return BrowserBenchmarkResult(checkpoint: checkpointPath, imageSize: imageSize, screen: screenSize,
                                  repeats: max(repeats, 1), terminalColors: terminal?.colorMode.rawValue ?? "",
                                  terminalBytesPerKey: timedKeys > 0 ? Double(timedBytes) / Double(timedKeys) : 0,
                                  timings: timings)
}
