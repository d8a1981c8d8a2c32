import ArgumentParser
import Foundation
import GAN
import Imaging
import NN
import Tensors

/// `latent-tui ablation --out DIR`: seed 004's SAN table reproduced on shapes.
struct AblationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ablation",
        abstract: "Train SAN on shapes one factor at a time (λ, batch, dropout) like seed 004; write a table and a chart.",
        discussion: """
        Runs λ ∈ {1, 5, 20} at batch 128, batch ∈ {64, 256} at λ = 1 and dropout at λ = 1, batch 64, each \
        on the same number of training images, evaluates each run and writes DIR/ablation.md, \
        DIR/ablation.png, DIR/results.json and one folder per run (checkpoint, samples.png, result.json). \
        Finished runs are kept: rerunning continues with the missing ones (--force starts over).
        """)

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Training images per run (steps = images / batch).")
    var images = 192_000

    @Option(help: "Width of the 4×4 stage of generator and critic.")
    var width = 32

    @Option(help: "Image size.")
    var imageSize = 32

    @Option(help: "Seed of every run.")
    var seed: UInt64 = 1

    @Option(help: "Dropout probability of the dropout run.")
    var dropout: Float = 0.3

    @Option(help: "Samples per evaluation.")
    var n = 1000

    @Option(help: "Run only these runs (comma-separated names).")
    var only: String?

    @Flag(help: "Redo finished runs.")
    var force = false

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if images < 256 { throw ValidationError("--images must be at least 256 (one batch of the largest run)") }
        if n < 4 { throw ValidationError("--n must be at least 4") }
        if !(dropout > 0 && dropout < 1) { throw ValidationError("--dropout must be in (0, 1)") }
    }

    func run() throws {
        try reportingErrors {
            threads.apply()
            let plan = SANAblation(images: images, width: width, imageSize: imageSize, seed: seed,
                                   dropoutProbability: dropout, evaluationCount: n)
            let wanted = only.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
            if let wanted, let unknown = wanted.first(where: { name in !plan.runs.contains { $0.name == name } }) {
                throw InputError(.badArgument, key: "--only",
                                 "no run named \(unknown); runs: \(plan.runs.map(\.name).joined(separator: ", "))")
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var results: [AblationResult] = []
            for run in plan.runs {
                let folder = (out as NSString).appendingPathComponent(run.name)
                let resultPath = (folder as NSString).appendingPathComponent("result.json")
                if !force, let data = FileManager.default.contents(atPath: resultPath),
                   let done = try? JSONDecoder().decode(AblationResult.self, from: data), done.run == run {
                    results.append(done)
                    continue
                }
                guard wanted?.contains(run.name) ?? true else { continue }
                let total = plan.config(for: run).steps
                let progress = ProgressLine(total: total, label: run.name)
                let result = try plan.perform(run, folder: folder) { step, total, metrics in
                    progress.update(step, metrics.summary)
                }
                try writeJSON(result, to: resultPath)
                let figures = result.report.map { String(format: "Fréchet %.3f, precision %.3f, recall %.3f", $0.frechet, $0.precision, $0.recall) }
                print("\(run.name): \(result.steps) steps in \(ProgressLine.duration(result.wallSeconds)), "
                      + (figures ?? result.diverged ?? ""))
                results.append(result)
            }
            try writeJSON(results, to: (out as NSString).appendingPathComponent("results.json"))
            let table = SANAblation.markdown(results, settings: plan)
            try writeAtomically(Array((table + "\n").utf8), to: (out as NSString).appendingPathComponent("ablation.md"))
            if let chart = SANAblation.chart(results) {
                try PNG.write(chart, to: (out as NSString).appendingPathComponent("ablation.png"))
            }
            print(table)
            let missing = plan.runs.count - results.count
            print("wrote \(out)/ablation.md" + (missing > 0 ? " (\(missing) runs still to do)" : " and ablation.png"))
        }
    }
}
