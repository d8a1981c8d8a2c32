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
// A second figure adds the real terminal update: the same frame drawn on an
// NcursesScreen (truecolor) over a pseudo-terminal and flushed.

/// One key's timing in the replay.
struct BrowserKeyTiming {
    /// What the key does: step, direction, mode, stride, compare, other.
    var kind: String
    /// Render + draw on the MemoryScreen.
    var milliseconds: Double
    /// Render + draw and flush on an NcursesScreen over a pseudo-terminal
    /// (nil when no pseudo-terminal could be opened).
    var terminalMilliseconds: Double?
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
    var timings: [BrowserKeyTiming]

    /// Median, min and max in ms of the timings of one kind (nil: all);
    /// `terminal`: the figures with the pseudo-terminal flush.
    func stats(_ kind: String? = nil, terminal: Bool = false) -> (count: Int, median: Double, min: Double, max: Double)? {
        let chosen = timings.filter { kind == nil || $0.kind == kind }
        let values = (terminal ? chosen.compactMap(\.terminalMilliseconds) : chosen.map(\.milliseconds)).sorted()
        guard let first = values.first, let last = values.last else { return nil }
        let mid = values.count / 2
        let median = values.count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2
        return (values.count, median, first, last)
    }

    /// The step key's median: the figure the 16 ms target is about.
    var stepMedian: Double? { stats("step")?.median }
    /// The same with the terminal update (pseudo-terminal flush) included.
    var stepTerminalMedian: Double? { stats("step", terminal: true)?.median }

    /// Lines for the terminal (and the README).
    var report: [String] {
        var lines = ["browser key → frame (render + draw, \(screen) MemoryScreen, \(imageSize) generator "
                     + "\((checkpoint as NSString).lastPathComponent), \(repeats) replays of the key script)"]
        for kind in ["step", "direction", "stride", "mode", "compare", "other", nil] as [String?] {
            guard let s = stats(kind) else { continue }
            let rows = timings.filter { kind == nil || $0.kind == kind }.map(\.renderedRows)
            let meanRows = Double(rows.reduce(0, +)) / Double(max(rows.count, 1))
            lines.append(String(format: "  %-10@ %4d keys  median %7.2f ms  min %7.2f  max %7.2f  (%.1f generator rows/key)",
                                (kind ?? "all") as NSString, s.count, s.median, s.min, s.max, meanRows))
        }
        if let step = stats("step", terminal: true), let all = stats(terminal: true) {
            lines.append(String(format: "  with the terminal update (NcursesScreen %@ flush to a pseudo-terminal):",
                                terminalColors as NSString))
            lines.append(String(format: "  step       %4d keys  median %7.2f ms  min %7.2f  max %7.2f", step.count,
                                step.median, step.min, step.max))
            lines.append(String(format: "  all        %4d keys  median %7.2f ms  min %7.2f  max %7.2f", all.count,
                                all.median, all.min, all.max))
        }
        if let step = stepTerminalMedian ?? stepMedian {
            lines.append(String(format: "  step key median %.2f ms: %@ the 16 ms target", step,
                                step < 16 ? "within" : "OVER"))
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

/// Replays `browserKeyScript` `repeats` times (after one untimed warm-up
/// replay), each time with a fresh session and an empty frame cache, on the
/// checkpoint at `checkpointPath` (which needs a direction set).
///
/// Call from main.swift, e.g.:
///
///     if let path = browserCheckpoint {
///         let result = try runBrowserBenchmark(checkpointPath: path, repeats: 5)
///         result.report.forEach { print($0) }
///     }
func runBrowserBenchmark(checkpointPath: String, repeats: Int = 5,
                         screenSize: TerminalSize = TerminalSize(rows: 40, cols: 120)) throws -> BrowserBenchmarkResult {
    let checkpoint = try Checkpoint.load(path: checkpointPath)
    var timings: [BrowserKeyTiming] = []
    var imageSize = ""
    // A truecolor terminal, the most bytes per cell of the colour modes.
    let pty = PseudoTerminal(rows: screenSize.rows, cols: screenSize.cols)
    let terminal = pty.flatMap {
        try? NcursesScreen(input: $0.slave, output: $0.slave,
                           environment: ["TERM": "xterm-256color", "COLORTERM": "truecolor"], locale: "C.UTF-8")
    }
    defer {
        terminal?.close()
        pty?.close()
    }
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
        for (key, kind) in browserKeyScript {
            guard let action = KeyMap.browser.action(for: key, editingText: false) else { continue }
            let start = DispatchTime.now().uptimeNanoseconds
            var rows = 0
            switch session.send(action) {
            case .render(let request):
                let result = engine.render(request)
                rows = result.renderedRows
                session.apply(result)
            case .none, .draw, .write, .saveLabel, .quit:
                break
            }
            let rendered = DispatchTime.now().uptimeNanoseconds
            draw(session.model, on: screen)
            screen.flush()
            let drawn = DispatchTime.now().uptimeNanoseconds
            var onTerminal: Double?
            if let terminal {
                draw(session.model, on: terminal)
                terminal.flush()
                let flushed = DispatchTime.now().uptimeNanoseconds
                onTerminal = Double(rendered - start + flushed - drawn) / 1e6
            }
            if replay > 0 {
                timings.append(BrowserKeyTiming(kind: kind, milliseconds: Double(drawn - start) / 1e6,
                                                terminalMilliseconds: onTerminal, renderedRows: rows))
            }
        }
    }
    return BrowserBenchmarkResult(checkpoint: checkpointPath, imageSize: imageSize, screen: screenSize,
                                  repeats: max(repeats, 1), terminalColors: terminal?.colorMode.rawValue ?? "",
                                  timings: timings)
}
