import Foundation
import Imaging
import Latent
import NN
import Tensors

/// A file the browser's keys ask for, with the state it is for (taken when
/// the key was pressed, so later keys do not change what is written).
public struct WriteJob: Sendable {
    public var output: Output
    public var key: WalkKey
    /// [1, d]
    public var z0: Tensor
    /// How z0 was made, for file names and `walk.json`.
    public var source: LatentSource
    /// z0's seed, or nil for a user-given z0; for file names.
    public var seed: UInt64?
    public var truncation: Float
    /// [1, d], unit.
    public var direction: Tensor
    public var stride: Float
    public var step: Int
    /// `e` and `g` write steps −n…+n.
    public var steps: Int
}

/// Saves a direction's new name into the checkpoint.
public struct LabelJob: Sendable {
    public var method: String
    public var direction: Int
    public var label: String
}

extension BrowserEngine {
    /// Writes the file `job` asks for into the context's output folder and
    /// returns the status line naming it. Never overwrites: an existing name
    /// gets a counter (`_1`, `_2`, …). Failures come back as a status line
    /// too, not as a crash: the session goes on.
    public func perform(_ job: WriteJob) -> String {
        do {
            switch job.output {
            case .latent:
                let walk = try makeWalk(job)
                let name = uniqueName("z_\(seedPart(job))_\(job.key.method)_\(job.key.direction)_\(job.step)", ext: "npy")
                try NPY.write(walk.latent(at: job.step), to: file(name))
                return "wrote \(name) (z at step \(formatStep(job.step)), [1, \(context.latentDimension)])"

            case .frame:
                let walk = try makeWalk(job)
                let name = uniqueName("frame_\(seedPart(job))_\(job.key.method)_\(job.key.direction)_\(job.key.mode.rawValue)_\(job.step)",
                                      ext: "png")
                let images = rgbImages(from: checkpoint.generate(walk.latent(at: job.step)), valueRange: checkpoint.valueRange)
                guard let image = images.first else { return "could not render the frame" }
                try PNG.write(image, to: file(name), metadata: [("Software", "latent-tui"), ("Description", describe(job))])
                return "wrote \(name)"

            case .contactSheet:
                guard let set = checkpoint.directionSets[job.key.method] else { return "no \(job.key.method) directions" }
                let name = uniqueName("sheet_\(seedPart(job))_\(job.key.method)_\(job.key.mode.rawValue)", ext: "png")
                let sheet = try contactSheet(checkpoint: checkpoint, set: set, z0: job.z0, mode: job.key.mode,
                                             stride: job.stride, steps: job.steps, file: context.checkpointPath)
                try PNG.write(sheet, to: file(name), metadata: [
                    ("Software", "latent-tui"),
                    ("Description", "\(job.key.method): \(set.k) directions (rows) × steps −\(job.steps)…+\(job.steps) "
                        + "(columns), \(job.key.mode.title) walk, stride \(job.stride), z0 \(originText(job))"),
                ])
                return "wrote \(name) (\(set.k) directions × \(2 * job.steps + 1) steps)"

            case .walk:
                let base = "walk_\(job.key.method)_\(job.key.direction)_\(job.key.mode.rawValue)_"
                var n = 1
                while fileExists(file(base + String(n))) { n += 1 }
                let folder = base + String(n)
                var request = ExportRequest(method: job.key.method, direction: job.key.direction, mode: job.key.mode,
                                            stride: job.stride, steps: job.steps, source: job.source, output: file(folder))
                request.checkpointPath = context.checkpointPath
                request.commandLine = exportCommandLine(job, folder: folder)
                let result = try exportWalk(request, checkpoint: checkpoint)
                return "wrote \(folder)/ (\(result.record.frames.count) frames, z.npy, walk.json)"
            }
        } catch {
            return "could not write: \(message(error))"
        }
    }

    /// Sets direction `job.direction`'s label and saves the checkpoint in
    /// place, keeping the previous file as `.bak`.
    public func perform(_ job: LabelJob) -> String {
        let path = context.checkpointPath
        guard var set = checkpoint.directionSets[job.method], (0..<set.k).contains(job.direction) else {
            return "no \(job.method) direction \(job.direction) to name"
        }
        let previous = set.labels
        if set.labels.count < set.k { set.labels += [String](repeating: "", count: set.k - set.labels.count) }
        set.labels[job.direction] = job.label
        checkpoint.directionSets[job.method] = set
        do {
            try checkpoint.save(to: path, keepBackup: true)
        } catch {
            var restored = set
            restored.labels = previous
            checkpoint.directionSets[job.method] = restored
            return "name not saved: \(message(error))"
        }
        let shown = job.label.isEmpty ? "(unnamed)" : "“\(job.label)”"
        return "\(job.method) \(job.direction) is \(shown): saved \(path) (previous kept as \(path).bak)"
    }

    private func makeWalk(_ job: WriteJob) throws -> Walk {
        try Walk(checkpoint: checkpoint, z0: job.z0, direction: job.direction, stride: job.stride, mode: job.key.mode,
                 file: context.checkpointPath)
    }

    private func file(_ name: String) -> String { (context.outputFolder as NSString).appendingPathComponent(name) }

    /// `stem.ext`, or `stem_1.ext`, `stem_2.ext`… when taken.
    private func uniqueName(_ stem: String, ext: String) -> String {
        var name = "\(stem).\(ext)"
        var n = 1
        while fileExists(file(name)) {
            name = "\(stem)_\(n).\(ext)"
            n += 1
        }
        return name
    }

    /// The seed as file names show it: `7`, `7psi0.70` for a truncated
    /// draw, `z` for a z0 from a file.
    private func seedPart(_ job: WriteJob) -> String {
        guard let seed = job.seed else { return "z" }
        return job.truncation == 1 ? String(seed) : "\(seed)psi\(formatFixed(Double(job.truncation), decimals: 2))"
    }

    private func originText(_ job: WriteJob) -> String {
        switch job.source {
        case let .file(path, row): "\(path) row \(row)"
        default: job.seed.map { "seed \($0)" + (job.truncation == 1 ? "" : " ψ \(job.truncation)") } ?? "given"
        }
    }

    private func describe(_ job: WriteJob) -> String {
        "\(job.key.method) direction \(job.key.direction), \(job.key.mode.title) walk, step \(job.step), "
            + "stride \(job.stride), z0 \(originText(job))"
    }

    /// The `latent-tui export` line that writes the same folder (recorded
    /// in `walk.json`); a truncated z0 has no flag, so it is noted instead.
    private func exportCommandLine(_ job: WriteJob, folder: String) -> [String] {
        var line = ["latent-tui", "export", context.checkpointPath, "--method", job.key.method,
                    "--direction", String(job.key.direction), "--mode", job.key.mode.rawValue,
                    "--stride", String(job.stride), "--steps", String(job.steps)]
        switch job.source {
        case let .seed(seed): line += ["--seed", String(seed)]
        case let .file(path, row): line += ["--z", path, "--row", String(row)]
        case .vector: line += ["# z0: seed \(job.seed.map(String.init) ?? "?") with truncation ψ \(job.truncation) (from the browser)"]
        }
        return line + ["--out", folder]
    }
}
