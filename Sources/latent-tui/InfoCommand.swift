import ArgumentParser
import Foundation
import NN
import Tensors

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Describe a checkpoint: architecture, prior, direction sets, records.")

    @Argument(help: "Checkpoint (safetensors) file.")
    var checkpoint: String

    @Flag(help: "Print the description as JSON for scripts.")
    var json = false

    func run() throws {
        try reportingErrors {
            let ckpt = try Checkpoint.load(path: checkpoint)
            let description = try CheckpointDescription(ckpt, path: checkpoint)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(description), as: UTF8.self))
            } else {
                print(description.text)
            }
        }
    }
}

/// Everything `info` reports, in one value so text and JSON say the same.
struct CheckpointDescription: Encodable {
    struct LayerRow: Encodable {
        let index: Int, op: String, outputShape: [Int], parameters: Int
    }
    struct NetworkSummary: Encodable {
        let prefix: String
        let inputShape: [Int]
        let layers: [LayerRow]
        let parameters: Int
    }
    struct DirectionSummary: Encodable {
        let method: String, k: Int, layer: Int, scores: [Float], labels: [String], seed: UInt64, created: String
        let params: String
    }

    let file: String
    let format: String
    let fileBytes: Int
    let prior: String
    let latentDimension: Int
    let imageSize: [Int]
    let valueRange: [Float]
    let mappingLayers: Int
    let generator: NetworkSummary
    let critic: NetworkSummary?
    let dplaseF: NetworkSummary?
    let dplaseC: NetworkSummary?
    let directions: [DirectionSummary]
    let criticCalibration: [String: Float]?
    let training: String?

    init(_ ckpt: Checkpoint, path: String) throws {
        func summary(_ network: Network) throws -> NetworkSummary {
            let shapes = try network.spec.shapes()
            let rows = network.spec.layers.enumerated().map { i, layer in
                LayerRow(index: i, op: layer.op, outputShape: shapes[i + 1], parameters: layer.parameterCount)
            }
            return NetworkSummary(prefix: network.spec.prefix, inputShape: shapes[0], layers: rows,
                                  parameters: network.parameterCount)
        }
        file = path
        format = Checkpoint.format
        fileBytes = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0
        prior = ckpt.prior.rawValue
        latentDimension = ckpt.latentDimension
        let g = try summary(ckpt.generator)
        generator = g
        imageSize = g.layers.last?.outputShape ?? []
        valueRange = [ckpt.valueRange.0, ckpt.valueRange.1]
        mappingLayers = ckpt.generator.spec.mappingLayers
        critic = try ckpt.critic.map(summary)
        dplaseF = try ckpt.densityCDF.map(summary)
        dplaseC = try ckpt.correction.map(summary)
        directions = ckpt.methods.compactMap { ckpt.directionSets[$0] }.map {
            DirectionSummary(method: $0.method, k: $0.k, layer: $0.layer, scores: $0.scores, labels: $0.labels,
                             seed: $0.seed, created: $0.created, params: $0.paramsJSON)
        }
        criticCalibration = ckpt.calibration.map { ["a": $0.a, "b": $0.b, "max_logit": $0.maxLogit] }
        training = ckpt.trainingRecord
    }

    static func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    func networkTable(_ title: String, _ n: NetworkSummary) -> [String] {
        var lines = ["\(title) · prefix \"\(n.prefix)\" · input \(Self.shapeText(n.inputShape))"]
        lines.append("  " + padded("index", 5, left: true) + "  " + padded("op", 16) + " " + padded("output", 18)
                     + " " + padded("params", 10, left: true))
        for row in n.layers {
            lines.append("  " + padded("\(row.index)", 5, left: true) + "  " + padded(row.op, 16) + " "
                         + padded(Self.shapeText(row.outputShape), 18) + " " + padded("\(row.parameters)", 10, left: true))
        }
        lines.append(String(format: "  total %d parameters", n.parameters))
        return lines
    }

    var text: String {
        var lines: [String] = []
        lines.append("\(file) · \(format) · \(fileBytes) bytes")
        let image = imageSize.count == 3 ? "\(imageSize[1])×\(imageSize[2])×\(imageSize[0])" : Self.shapeText(imageSize)
        lines.append("prior \(prior) z∈R^\(latentDimension) · image \(image) · values [\(valueRange[0]), \(valueRange[1])]"
                     + (mappingLayers > 0 ? " · mapping layers 0..<\(mappingLayers)" : ""))
        lines.append("")
        lines += networkTable("generator", generator)
        for (title, network) in [("critic", critic), ("dplase.F (density CDF)", dplaseF), ("dplase.C (correction)", dplaseC)] {
            guard let network else { continue }
            lines.append("")
            lines += networkTable(title, network)
        }
        lines.append("")
        let present = [critic == nil ? nil : "critic", dplaseF == nil ? nil : "dplase.F", dplaseC == nil ? nil : "dplase.C",
                       criticCalibration == nil ? nil : "critic calibration"].compactMap { $0 }
        lines.append("groups: " + (present.isEmpty ? "generator only" : (["generator"] + present).joined(separator: ", ")))
        if directions.isEmpty {
            lines.append("directions: none (add with `latent-tui discover \(file) --method dplase`)")
        }
        for set in directions {
            lines.append("directions.\(set.method): k=\(set.k) at layer \(set.layer) · seed \(set.seed) · \(set.created)")
            for j in 0..<set.k {
                let label = set.labels.indices.contains(j) && !set.labels[j].isEmpty ? set.labels[j] : "(unnamed)"
                let score = set.scores.indices.contains(j) ? String(format: "%.3f", set.scores[j]) : "-"
                lines.append("  " + padded("\(j)", 3, left: true) + "  " + padded(label, 24) + " " + score)
            }
            if set.params != "{}" { lines.append("  params \(set.params)") }
        }
        if let c = criticCalibration {
            lines.append(String(format: "critic calibration: a=%.4g b=%.4g max logit=%.4g", c["a"] ?? 0, c["b"] ?? 0, c["max_logit"] ?? 0))
        }
        lines.append("training: " + (training ?? "(no record: trained elsewhere)"))
        return lines.joined(separator: "\n")
    }
}

/// Pads to a column width (`String(format:)`'s `%-16@` does not pad on Linux).
func padded(_ text: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return left ? fill + text : text + fill
}
