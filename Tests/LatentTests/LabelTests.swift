import Foundation
@testable import Latent
import NN
import Tensors
import XCTest

/// Default labels from shape statistics, on a hand-made "shapes" generator:
/// a white disk on black whose latent axes move it right (e0), tint it red
/// versus blue (e1), grow it (e2) or do nothing (e3).
final class LabelTests: XCTestCase {
    override func setUp() { setBLASThreads(1) }

    static let size = 16

    /// Linear(4 → 3·16·16) → Tanh → Unflatten: images = tanh(W·z + b) with the
    /// pre-activation k·(R² − |p − c|²) of a disk centred at c = (8 + z0, 8):
    /// expanding the square makes it linear in z0 (up to a uniform z0² term).
    static func shapesCheckpoint() -> Checkpoint {
        let plane = size * size
        let k: Float = 0.4, radiusSquared: Float = 12
        var weight = [Float](repeating: 0, count: 3 * plane * 4)       // [3·plane, 4]
        var bias = [Float](repeating: 0, count: 3 * plane)
        for channel in 0..<3 {
            for p in 0..<plane {
                let (x, y) = (Float(p % size) + 0.5 - 8, Float(p / size) + 0.5 - 8)
                let row = channel * plane + p
                let inside: Float = x * x + y * y <= radiusSquared ? 1 : 0
                bias[row] = k * (radiusSquared - x * x - y * y)
                weight[row * 4 + 0] = k * 2 * x                                         // move right
                weight[row * 4 + 1] = inside * (channel == 0 ? 2 : channel == 2 ? -2 : 0) // red ↔ blue
                weight[row * 4 + 2] = k * 5                                             // radius² + 5·z2
            }
        }
        let spec = NetworkSpec(prefix: "g",
                               layers: [.linear(inFeatures: 4, outFeatures: 3 * plane, bias: true), .tanh,
                                        .unflatten(shape: [3, size, size])],
                               inputSize: 4, prior: .gaussian, imageSize: size, channels: 3, valueRange: (-1, 1))
        let values = ["g.0.weight": Tensor(weight, shape: [3 * plane, 4]), "g.0.bias": Tensor(bias)]
        let generator = try! Network(spec: spec) { values[$0] }
        return Checkpoint(generator: generator, trainingRecord: #"{"config": {"data": "shapes", "objective": "wgan-gp"}}"#)
    }

    func testEachDirectionIsNamedAfterTheStatisticItMoves() {
        let checkpoint = Self.shapesCheckpoint()
        XCTAssertTrue(ShapeLabeling.applies(to: checkpoint))
        let labels = ShapeLabeling.labels(checkpoint: checkpoint, directions: identity(4), samples: 24, seed: 1)
        XCTAssertEqual(labels.map(\.name), ["x-position", "hue", "area", ""])
        for label in labels.prefix(3) { XCTAssertGreaterThan(label.purity, 0.35, "\(label)") }
        XCTAssertEqual(labels[3].purity, 0)
    }

    func testDiscoveryLabelsShapesCheckpointsOnly() throws {
        var options = DiscoveryOptions()
        options.k = 3
        let shapes = Self.shapesCheckpoint()
        let set = try discoverDirections(.sefa, in: shapes, options: options)
        XCTAssertTrue(set.labels.allSatisfy { ShapeLabeling.statistics.contains($0) }, "\(set.labels)")
        let params = try JSONSerialization.jsonObject(with: Data(set.paramsJSON.utf8)) as? [String: Any]
        XCTAssertEqual((params?["label_purity"] as? [Double])?.count, 3)

        let other = TinyGenerator.linear(d: 8)
        other.trainingRecord = #"{"config": {"data": "/photos/faces"}}"#
        XCTAssertFalse(ShapeLabeling.applies(to: other))
        let unlabeled = try discoverDirections(.sefa, in: other, options: options)
        XCTAssertEqual(unlabeled.labels, ["", "", ""])
    }
}
