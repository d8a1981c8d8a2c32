import Foundation
import Imaging
import Tensors

/// Reads `metrics.jsonl` (one `StepMetrics` per line) and draws the loss curves.
public enum TrainingLog {
    public static func read(_ path: String) throws -> [StepMetrics] {
        let text = String(decoding: try readWholeFile(path), as: UTF8.self)
        let decoder = JSONDecoder()
        // A line cut short by a crash is skipped rather than failing the whole plot.
        return text.split(separator: "\n").compactMap { try? decoder.decode(StepMetrics.self, from: Data($0.utf8)) }
    }

    /// One panel per logged figure (critic and generator losses, and whichever of
    /// GP, R1, k_t, M and path length the objective logs), smoothed.
    public static func plot(_ metrics: [StepMetrics], title: String) -> RGBImage {
        let steps = metrics.map { Double($0.step) }
        func series(_ name: String, _ value: (StepMetrics) -> Float?) -> LineSeries? {
            let values = metrics.map { value($0).map(Double.init) ?? .nan }
            guard values.contains(where: { !$0.isNaN }) else { return nil }
            return LineSeries(name: name, xs: steps, ys: values)
        }
        let all = [
            series("critic loss") { $0.lossCritic }, series("generator loss") { $0.lossGenerator },
            series("Wasserstein estimate") { $0.wasserstein }, series("gradient penalty") { $0.gradientPenalty },
            series("R1") { $0.r1 }, series("k_t") { $0.kT }, series("convergence M") { $0.convergence },
            series("path length (EMA)") { $0.pathLengthMean },
        ].compactMap { $0 }
        let smoothing = max(1, metrics.count / 200)
        return linePlot(all, title: title, xLabel: "generator step", width: 900, height: 160 * max(all.count, 2),
                        panels: true, smoothing: smoothing)
    }
}
