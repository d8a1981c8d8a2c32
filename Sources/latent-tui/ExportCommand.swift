import ArgumentParser
import Foundation
import Latent
import NN
import Tensors

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Walk one direction and write the frames, z.npy and walk.json (readouts per frame).",
        discussion: """
        DIR gets frame_000.png … (2n+1 frames in walk order −n…+n; z0 is frame n), z.npy [2n+1, d] and \
        walk.json; --grid adds grid.png (rows = directions, columns = steps), --compare adds compare.png \
        (rows = linear, norm-preserving, density-corrected) and --gif adds walk.gif.
        """)

    @Argument(help: "Checkpoint (safetensors) file.")
    var checkpoint: String

    @Option(help: "Direction set (default: dplase when present, else the first in the file).")
    var method: String?

    @Option(help: "Direction index within the set.")
    var direction: Int

    @Option(help: "linear, norm or density.")
    var mode: String

    @Option(help: "Stride ε per step.")
    var stride: Float

    @Option(help: "Steps n each way: frames −n…+n.")
    var steps: Int

    @OptionGroup var origin: OriginOptions

    @Flag(help: "Also write grid.png: every direction of the set, one row each.")
    var grid = false

    @Flag(help: "Also write compare.png: the three walk modes, one row each.")
    var compare = false

    @Flag(help: "Also write walk.gif.")
    var gif = false

    @Flag(help: "Write into a folder that is not empty.")
    var force = false

    @Option(help: "Output folder.")
    var out: String

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard WalkMode(rawValue: mode) != nil else {
            throw ValidationError("--mode must be one of \(WalkMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if steps < 0 { throw ValidationError("--steps must be ≥ 0") }
        if !stride.isFinite { throw ValidationError("--stride must be a finite number") }
    }

    func run() throws {
        try reportingErrors {
            threads.apply()
            guard let walkMode = WalkMode(rawValue: mode) else { return }  // validate() checked it
            let ckpt = try Checkpoint.load(path: checkpoint)
            let source: LatentSource
            if let zFile = origin.zFile {
                source = .file(path: zFile, row: origin.row)
            } else {
                source = .seed(origin.seed ?? clockSeed())
            }
            var request = ExportRequest(method: method, direction: direction, mode: walkMode, stride: stride,
                                        steps: steps, source: source, output: out)
            (request.grid, request.compare, request.gif, request.force) = (grid, compare, gif, force)
            request.checkpointPath = checkpoint
            request.commandLine = CommandLine.arguments
            let result = try exportWalk(request, checkpoint: ckpt)
            for note in result.notes { printError("note: \(note)") }
            let originText: String
            switch source {
            case let .seed(s): originText = "seed \(s)"
            case let .file(path, row): originText = "\(path) row \(row)"
            case .vector: originText = "given z0"
            }
            let frames = result.record.frames.count
            let last = result.record.frames.last?.readouts
            print("wrote \(frames) frames of \(result.record.method) direction \(direction) (\(walkMode.title), "
                  + "stride \(stride), z0 from \(originText)) to \(out)"
                  + (last.map { String(format: " · last frame: feature Δ %.3g, image Δ %.3g", $0.featureChange, $0.imageChange) } ?? ""))
        }
    }
}
