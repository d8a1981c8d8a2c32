import ArgumentParser
import Foundation
import Latent
import NN
import Tensors

struct DiscoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Find latent directions (DP-LaSE, SeFa, PCA or random) and store them in the checkpoint.",
        discussion: """
        Writes the set as directions.<method> into CKPT (atomically; the previous file is kept as \
        CKPT.bak) or into --out. DP-LaSE also stores its density network F and correction network C, \
        which the density-corrected walk needs for every method.
        """)

    @Argument(help: "Checkpoint (safetensors) file.")
    var checkpoint: String

    @Option(help: "dplase, sefa, pca or random.")
    var method: String

    @Option(help: "Number of directions.")
    var k = 8

    @Option(help: "Split layer j: G1 = generator layers 0..<j (default: the middle of the generator).")
    var layer: Int?

    @Option(help: "DP-LaSE optimisation steps.")
    var steps = 1000

    @Option(help: "DP-LaSE batch of z0 samples per step.")
    var batch = 16

    @Option(help: "DP-LaSE Adam learning rate (default 2e-3).")
    var lr: Float?

    @Option(help: "DP-LaSE stride range ε_max (default: ½·E‖z‖ under the prior).")
    var epsilonMax: Float?

    @Option(help: "PCA: latent samples whose features are decomposed.")
    var samples = 1024

    @Option(help: "Seed of every random draw.")
    var seed: UInt64 = 1

    @OptionGroup var target: UpdateTarget

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard DirectionMethod(rawValue: method) != nil else {
            throw ValidationError("--method must be one of \(DirectionMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if k < 1 { throw ValidationError("--k must be at least 1") }
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let lr, !(lr > 0) || !lr.isFinite { throw ValidationError("--lr must be positive") }
        if let epsilonMax, !(epsilonMax > 0) || !epsilonMax.isFinite { throw ValidationError("--epsilon-max must be positive") }
    }

    func run() throws {
        try reportingErrors {
            threads.apply()
            guard let chosen = DirectionMethod(rawValue: method) else { return }  // validate() checked it
            let ckpt = try Checkpoint.load(path: checkpoint)
            try target.checkWritable(updating: checkpoint)
            var options = DiscoveryOptions()
            (options.k, options.layer, options.seed, options.samples) = (k, layer, seed, samples)
            options.dplase.steps = steps
            options.dplase.batch = batch
            if let lr { options.dplase.learningRate = lr }
            options.dplase.epsilonMax = epsilonMax

            let progress = ProgressLine(total: chosen == .dplase ? steps : 1, label: "discover \(chosen.rawValue)")
            let set = try discoverDirections(chosen, in: ckpt, options: options, file: checkpoint) { report in
                progress.update(report.step, report.losses?.summary ?? "")
            }
            let written = try target.save(ckpt, updating: checkpoint)
            let scores = set.scores.prefix(8).map { String(format: "%.3g", $0) }.joined(separator: " ")
            let named = set.labels.contains { !$0.isEmpty } ? " · labels: " + set.labels.joined(separator: ", ") : ""
            print("wrote \(set.k) \(chosen.title) directions (layer \(set.layer), seed \(seed)) to \(written)"
                  + " · scores: \(scores)\(set.k > 8 ? " …" : "")\(named)")
        }
    }
}
