import ArgumentParser
import Foundation
import Latent
import NN
import Tensors
import TUI

struct BrowseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "browse",
        abstract: "Browse a checkpoint's latent directions in the terminal.",
        discussion: """
        Shows z0, the current frame, a filmstrip of the walk, the directions with their scores and labels, \
        and the readouts. Keys: ←/→ step, ↑/↓ direction, +/− stride, m walk mode, d method, 0 back to z0, \
        r new z0, space play, n name, t truncation, u undo, w z as .npy, e export, s frame, g contact sheet, \
        c compare, ? help, q quit. Files go into the current folder; every path written shows in the status line.
        """)

    @Argument(help: "Checkpoint (safetensors) file with at least one direction set.")
    var checkpoint: String

    @Option(help: "Direction set to start with (default: dplase when present, else the first in the file).")
    var method: String?

    @OptionGroup var origin: OriginOptions

    @Option(help: "First stride ε (default: ε_max / 8).")
    var stride: Float?

    @Option(name: .customLong("max-stride"), help: "Largest stride ε_max (default: ½·E‖z‖ under the prior).")
    var maxStride: Float?

    @Option(help: "Colours: auto, direct (24-bit), 256, 8 or none (NO_COLOR also gives none).")
    var colors = "auto"

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if let stride, !(stride.isFinite && stride > 0) { throw ValidationError("--stride must be a positive number") }
        if let maxStride, !(maxStride.isFinite && maxStride > 0) {
            throw ValidationError("--max-stride must be a positive number")
        }
        if Self.colorModes[colors] == nil {
            throw ValidationError("--colors must be one of auto, direct, 256, 8, none")
        }
    }

    static let colorModes: [String: ColorMode?] = [
        "auto": nil, "direct": .direct, "256": .palette256, "8": .palette8, "none": .monochrome,
    ]

    func run() throws {
        try reportingErrors {
            // Before anything else: a browser on a pipe would write escape
            // codes into it. The frames are what `export` writes.
            guard isatty(STDOUT_FILENO) == 1 else {
                throw InputError(.badArgument, "standard output is not a terminal: use `latent-tui export` to write frames")
            }
            guard isatty(STDIN_FILENO) == 1 else {
                throw InputError(.badArgument, "standard input is not a terminal (the browser reads keys from it): "
                                 + "use `latent-tui export` to write frames")
            }
            threads.apply()
            let ckpt = try Checkpoint.load(path: checkpoint)
            let start: BrowserOrigin = origin.zFile.map { .file(path: $0, row: origin.row) }
                ?? .seed(origin.seed ?? clockSeed() & 0xFFFF)
            let (context, state) = try makeBrowser(checkpoint: ckpt, path: checkpoint, method: method, origin: start,
                                                   stride: stride, maxStride: maxStride)
            // Everything that can fail on input has been checked: only now
            // does the terminal change (and it is restored on every way out).
            let screen: NcursesScreen
            do {
                screen = try NcursesScreen(colorMode: Self.colorModes[colors] ?? nil)
            } catch let error as TerminalError {
                throw InputError(.badArgument, key: "TERM", error.description)
            }
            let session = BrowserSession(context: context, state: state, screenSize: screen.size)
            let app = try BrowserApp(session: session, engine: BrowserEngine(checkpoint: ckpt, context: context),
                                     screen: screen)
            app.run()
        }
    }
}
