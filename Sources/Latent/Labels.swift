import Foundation
import Imaging
import NN
import Tensors

/// A default name for a direction: the image statistic it moves most.
public struct DirectionLabel: Sendable, Equatable {
    /// One of `ShapeLabeling.statistics`.
    public var name: String
    /// Share of the direction's total normalised change that goes to `name`
    /// (1 = it moves nothing else, 1/5 = no preference).
    public var purity: Float
}

/// Labels for checkpoints trained on the `shapes` dataset, whose images are
/// one shape on a plain background, so `shapeStatistics` can tell what a
/// direction does without a pretrained classifier.
public enum ShapeLabeling {
    /// Label names, in the order they are measured.
    public static let statistics = ["x-position", "y-position", "area", "orientation", "hue"]

    /// Per statistic, the smallest spread used for normalising: a change
    /// about this size is just noticeable (2% of the image side, 0.5% of its
    /// pixels, 0.1 of an angle vector's unit length). Without the floor a
    /// statistic that hardly varies — the orientation of round shapes — would
    /// turn pixel noise into a large normalised change.
    static let noticeableChange: [Float] = [0.02, 0.02, 0.005, 0.1, 0.1]

    /// Whether the checkpoint's training record says it was trained on `shapes`.
    public static func applies(to checkpoint: Checkpoint) -> Bool {
        guard let record = checkpoint.trainingRecordFields else { return false }
        let config = record["config"] as? [String: Any]
        return (config?["data"] as? String ?? record["data"] as? String) == "shapes"
    }

    /// For each direction (rows of [k, d]): walk `samples` prior draws z0 to
    /// z0 ± stride·γ, measure the five statistics on both images, and take the
    /// mean absolute change of each, divided by that statistic's spread (std)
    /// over the z0 images (at least `noticeableChange`) so that positions,
    /// areas and angles compare. The
    /// largest share names the direction.
    ///
    /// Orientation and hue are angles stored as vectors (see
    /// `ShapeStatistics`); their change is the length of the vector change.
    ///
    /// - Parameter stride: nil = ¼·E‖z‖ (half the default ε_max).
    public static func labels(checkpoint: Checkpoint, directions: Tensor, samples: Int = 32, stride: Float? = nil,
                              seed: UInt64) -> [DirectionLabel] {
        let (k, d) = (directions.shape[0], directions.shape[1])
        let step = stride ?? checkpoint.prior.expectedNorm(dimension: d) / 4
        var rng = RandomGenerator(seed: seed)
        let b = Swift.max(samples, 2)
        let z0 = checkpoint.sampleLatents(b, using: &rng)                                   // [B, d]
        let unit = withoutGrad { unitRows(directions) }
        // Rows: all z0, then per direction the B points at −stride and +stride.
        let minus = withoutGrad { (z0.reshaped([1, b, d]) - unit.reshaped([k, 1, d]) * step).reshaped([k * b, d]) }
        let plus = withoutGrad { (z0.reshaped([1, b, d]) + unit.reshaped([k, 1, d]) * step).reshaped([k * b, d]) }
        let all = withoutGrad { Tensor.concat([z0, minus, plus], axis: 0) }
        var stats: [[Float]] = []                                                             // per row: 7 values
        var start = 0
        while start < all.shape[0] {
            let end = Swift.min(start + 256, all.shape[0])
            let images = checkpoint.generate(all.slice(axis: 0, start..<end))
            for s in shapeStatistics(batch: images, valueRange: checkpoint.valueRange) {
                stats.append([s.x, s.y, s.area, s.orientationCos, s.orientationSin, s.hueCos, s.hueSin])
            }
            start = end
        }
        // Statistic g uses columns groups[g]; change is the Euclidean length over them.
        let groups = [[0], [1], [2], [3, 4], [5, 6]]
        func change(_ a: [Float], _ b: [Float], _ g: [Int]) -> Float {
            g.reduce(0) { $0 + (a[$1] - b[$1]) * (a[$1] - b[$1]) }.squareRoot()
        }
        let spreads = zip(groups, noticeableChange).map { g, floor -> Float in
            let variance = g.reduce(Float(0)) { total, column in
                let values = stats[0..<b].map { $0[column] }
                let mean = values.reduce(0, +) / Float(b)
                return total + values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(b)
            }
            return Swift.max(variance.squareRoot(), floor)
        }
        return (0..<k).map { j in
            let shares = groups.indices.map { g -> Float in
                var total: Float = 0
                for i in 0..<b {
                    total += change(stats[b + j * b + i], stats[b + k * b + j * b + i], groups[g])
                }
                return total / Float(b) / spreads[g]
            }
            let sum = shares.reduce(0, +)
            guard sum > 0, let best = shares.indices.max(by: { shares[$0] < shares[$1] }) else {
                return DirectionLabel(name: "", purity: 0)
            }
            return DirectionLabel(name: statistics[best], purity: shares[best] / sum)
        }
    }
}
