import Foundation
import Latent
import NN
import Tensors

/// A tiny generator with direction sets, built in code so the browser's
/// tests depend on no shipped checkpoint: z [8] → Linear(8, 32) → ReLU →
/// Linear(32, 3·16·16) → Tanh → Unflatten [3, 16, 16].
enum TinyCheckpoint {
    static let latentDimension = 8

    /// - Parameters:
    ///   - methods: direction sets to add (SeFa is closed form and instant;
    ///     random is cheap; dplase trains F and C for `dplaseSteps` steps).
    static func make(methods: [DirectionMethod] = [.sefa, .random], k: Int = 4, dplaseSteps: Int = 20,
                     seed: UInt64 = 3) throws -> Checkpoint {
        let d = latentDimension, size = 16
        let spec = NetworkSpec(prefix: "g",
                               layers: [.linear(inFeatures: d, outFeatures: 32, bias: true), .relu,
                                        .linear(inFeatures: 32, outFeatures: 3 * size * size, bias: true), .tanh,
                                        .unflatten(shape: [3, size, size])],
                               inputSize: d, prior: .gaussian, imageSize: size, channels: 3, valueRange: (-1, 1))
        var rng = RandomGenerator(seed: seed)
        // Larger weights than the default init: frames change visibly per step.
        var values: [String: Tensor] = [:]
        for (index, layer) in spec.layers.enumerated() {
            for (name, shape) in layer.tensorShapes {
                let fanIn = shape.count > 1 ? shape[1] : 1
                values[spec.tensorName(layer: index, name)] = name == "weight"
                    ? .normal(shape, std: 2 / Float(fanIn).squareRoot(), using: &rng)
                    : .normal(shape, std: 0.1, using: &rng)
            }
        }
        let generator = try Network(spec: spec) { values[$0] }
        let checkpoint = Checkpoint(generator: generator)
        for method in methods {
            var options = DiscoveryOptions()
            options.k = k
            options.samples = 64
            options.scoreSamples = 8
            options.dplase.steps = dplaseSteps
            try discoverDirections(method, in: checkpoint, options: options)
        }
        return checkpoint
    }
}

/// A fresh temporary folder per test, removed afterwards (kept when
/// `KEEP_TUI_TEST_FOLDERS` is set, to look at what a failing test wrote).
final class TemporaryFolder {
    let path: String
    init() {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("tui-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    deinit {
        guard ProcessInfo.processInfo.environment["KEEP_TUI_TEST_FOLDERS"] == nil else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}
