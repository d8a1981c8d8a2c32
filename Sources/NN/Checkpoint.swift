import Foundation
import Tensors

/// A set of latent directions stored in a checkpoint (`directions.<method>`).
public struct DirectionSet: Sendable {
    public static let methods = ["dplase", "sefa", "pca", "random"]

    public var method: String
    /// [k, latent_dim], one unit direction per row.
    public var directions: Tensor
    /// Split layer j of G1 = layers 0..<j used for feature readouts.
    public var layer: Int
    public var scores: [Float]
    public var labels: [String]
    /// Method parameters and any other keys, as JSON text, kept verbatim.
    public var paramsJSON: String
    public var seed: UInt64
    public var created: String

    public var k: Int { directions.shape[0] }

    public init(method: String, directions: Tensor, layer: Int, scores: [Float], labels: [String],
                paramsJSON: String = "{}", seed: UInt64, created: String = ISO8601DateFormatter().string(from: Date())) {
        self.method = method
        self.directions = directions
        self.layer = layer
        self.scores = scores
        self.labels = labels
        self.paramsJSON = paramsJSON
        self.seed = seed
        self.created = created
    }

    /// Row j as a [1, d] tensor.
    public func direction(_ j: Int) -> Tensor { directions.slice([j..<j + 1]) }

    var metadataJSON: String {
        let params = (paramsJSON.data(using: .utf8).flatMap { try? JSONSerialization.jsonObject(with: $0) }) ?? [String: Any]()
        let object: [String: Any] = ["k": k, "layer": layer, "scores": scores.map(Double.init), "labels": labels,
                                     "params": params, "seed": seed, "created": created]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Logistic head a·D(x) + b on the critic and the burn-in maximum logit (rejection sampling).
public struct CriticCalibration: Sendable, Equatable {
    public var a: Float, b: Float, maxLogit: Float
    /// How it was made (seed, image counts, accuracy): extra numeric keys of the JSON.
    public var record: [String: Double]
    public init(a: Float, b: Float, maxLogit: Float, record: [String: Double] = [:]) {
        (self.a, self.b, self.maxLogit, self.record) = (a, b, maxLogit, record)
    }

    var metadataJSON: String {
        var object: [String: Any] = record.filter { $0.value.isFinite }
        (object["a"], object["b"], object["max_logit"]) = (Double(a), Double(b), Double(maxLogit))
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A latent-tui checkpoint: a safetensors file with a generator spec and
/// optionally a critic, DP-LaSE modules, direction sets and records.
public final class Checkpoint: @unchecked Sendable {
    public static let format = "latent-tui/1"

    public var generator: Network
    public var critic: Network?
    /// DP-LaSE's scalar CDF network F and correction network C.
    public var densityCDF: Network?
    public var correction: Network?
    public var directionSets: [String: DirectionSet]
    public var calibration: CriticCalibration?
    /// JSON text of how the file was made (objective, hyperparameters, steps, seed, date).
    public var trainingRecord: String?
    /// Metadata keys we do not interpret, kept on rewrite.
    public var otherMetadata: [String: String]

    public init(generator: Network, critic: Network? = nil, densityCDF: Network? = nil, correction: Network? = nil,
                directionSets: [String: DirectionSet] = [:], calibration: CriticCalibration? = nil,
                trainingRecord: String? = nil, otherMetadata: [String: String] = [:]) {
        self.generator = generator
        self.critic = critic
        self.densityCDF = densityCDF
        self.correction = correction
        self.directionSets = directionSets
        self.calibration = calibration
        self.trainingRecord = trainingRecord
        self.otherMetadata = otherMetadata
    }

    /// The training record parsed as a JSON object; nil when absent or not an object.
    public var trainingRecordFields: [String: Any]? {
        trainingRecord.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]
    }

    public var latentDimension: Int { generator.spec.inputSize }
    public var prior: Prior { generator.spec.prior ?? .gaussian }
    public var valueRange: (Float, Float) { generator.spec.valueRange ?? (-1, 1) }

    /// Methods present, dplase first, then in DESIGN.md's order, then any others.
    public var methods: [String] {
        let known = DirectionSet.methods.filter { directionSets[$0] != nil }
        return known + directionSets.keys.filter { !DirectionSet.methods.contains($0) }.sorted()
    }

    /// `--method` default: dplase when present, else the first method in the file.
    public var defaultMethod: String? { methods.first }

    // MARK: reading

    public static func load(path: String) throws -> Checkpoint {
        try Checkpoint(file: SafetensorsFile.read(path: path), name: path)
    }

    public convenience init(file: SafetensorsFile, name: String) throws {
        let metadata = file.metadata
        if let format = metadata["format"], format != Self.format {
            throw InputError(.badMetadata, file: name, key: "format",
                             "is \"\(format)\", expected \"\(Self.format)\"")
        }
        guard metadata["format"] != nil else {
            throw InputError(.badMetadata, file: name, key: "__metadata__.format",
                             "missing: save with metadata={\"format\": \"latent-tui/1\", \"generator\": …} (see the README)")
        }
        guard let generatorJSON = metadata["generator"] else {
            throw InputError(.badMetadata, file: name, key: "__metadata__.generator",
                             "missing: the file has no generator spec (see the README for the format)")
        }
        func network(_ key: String, _ json: String) throws -> Network {
            let spec = try NetworkSpec(json: json, file: name, key: key)
            return try Network(spec: spec, file: name) { full in
                guard file.contains(full) else { return nil }
                return try file.tensor(full)
            }
        }
        let generator = try network("generator", generatorJSON)
        guard generator.spec.prior != nil else {
            throw InputError(.badSpec, file: name, key: "generator.prior", "missing: set \"gaussian\" or \"uniform\"")
        }
        let critic = try metadata["critic"].map { try network("critic", $0) }
        let densityCDF = try metadata["dplase.F"].map { try network("dplase.F", $0) }
        let correction = try metadata["dplase.C"].map { try network("dplase.C", $0) }

        var sets: [String: DirectionSet] = [:]
        let d = generator.spec.inputSize
        for (key, value) in metadata where key.hasPrefix("directions.") {
            let method = String(key.dropFirst("directions.".count))
            sets[method] = try Self.parseDirections(method: method, json: value, file: file, name: name,
                                                    latentDimension: d, layerCount: generator.spec.layers.count)
        }
        var calibration: CriticCalibration?
        if let text = metadata["critic_calibration"] {
            guard let object = (text.data(using: .utf8).flatMap { try? JSONSerialization.jsonObject(with: $0) }) as? [String: Any],
                  let a = (object["a"] as? NSNumber)?.floatValue, let b = (object["b"] as? NSNumber)?.floatValue,
                  let m = (object["max_logit"] as? NSNumber)?.floatValue, a.isFinite, b.isFinite, m.isFinite else {
                throw InputError(.badMetadata, file: name, key: "critic_calibration", "must be {\"a\": …, \"b\": …, \"max_logit\": …}")
            }
            let known: Set = ["a", "b", "max_logit"]
            let record = object.filter { !known.contains($0.key) }.compactMapValues { ($0 as? NSNumber)?.doubleValue }
            calibration = CriticCalibration(a: a, b: b, maxLogit: m, record: record)
        }
        let interpreted: Set = ["format", "generator", "critic", "dplase.F", "dplase.C", "critic_calibration", "training"]
        let others = metadata.filter { !interpreted.contains($0.key) && !$0.key.hasPrefix("directions.") }
        self.init(generator: generator, critic: critic, densityCDF: densityCDF, correction: correction,
                  directionSets: sets, calibration: calibration, trainingRecord: metadata["training"], otherMetadata: others)
    }

    static func parseDirections(method: String, json: String, file: SafetensorsFile, name: String,
                                latentDimension d: Int, layerCount: Int) throws -> DirectionSet {
        let key = "directions.\(method)"
        guard let object = (json.data(using: .utf8).flatMap { try? JSONSerialization.jsonObject(with: $0) }) as? [String: Any] else {
            throw InputError(.badMetadata, file: name, key: key, "metadata is not a JSON object")
        }
        guard file.contains(key) else { throw InputError(.missingTensor, file: name, key: key, "tensor missing for the direction set") }
        let tensor = try file.tensor(key)
        guard tensor.rank == 2, tensor.shape[1] == d, tensor.shape[0] > 0 else {
            throw InputError(.shapeMismatch, file: name, key: key, "has shape \(tensor.shape), expected [k, \(d)]")
        }
        try checkFinite(tensor, file: name, key: key)
        let k = tensor.shape[0]
        let r = FieldReader(object: object, file: name, key: key)
        let layer = try r.nonNegativeInt("layer", default: 0)
        guard layer <= layerCount else { throw InputError(.badMetadata, file: name, key: "\(key).layer", "is \(layer), beyond the generator's \(layerCount) layers") }
        let scores = (object["scores"] as? [NSNumber])?.map(\.floatValue) ?? []
        var labels = (object["labels"] as? [String]) ?? []
        labels += Array(repeating: "", count: max(0, k - labels.count))
        let params = object["params"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
        let seed = (object["seed"] as? NSNumber)?.uint64Value ?? 0
        return DirectionSet(method: method, directions: tensor, layer: layer,
                            scores: scores.count == k ? scores : Array(repeating: 0, count: k), labels: Array(labels.prefix(k)),
                            paramsJSON: params.map { String(decoding: $0, as: UTF8.self) } ?? "{}",
                            seed: seed, created: object["created"] as? String ?? "")
    }

    // MARK: writing

    /// Metadata and tensors as they go into the file.
    public func serialized() -> (metadata: [String: String], tensors: [(String, Tensor)]) {
        var metadata = otherMetadata
        metadata["format"] = Self.format
        metadata["generator"] = generator.spec.jsonString
        var tensors = generator.namedTensors
        for (key, network) in [("critic", critic), ("dplase.F", densityCDF), ("dplase.C", correction)] {
            guard let network else { continue }
            metadata[key] = network.spec.jsonString
            tensors += network.namedTensors
        }
        for (method, set) in directionSets {
            metadata["directions.\(method)"] = set.metadataJSON
            tensors.append(("directions.\(method)", set.directions))
        }
        if let calibration {
            metadata["critic_calibration"] = calibration.metadataJSON
        }
        if let trainingRecord { metadata["training"] = trainingRecord }
        return (metadata, tensors)
    }

    /// Writes atomically. With `keepBackup` an existing file at `path` is kept as `path.bak`.
    public func save(to path: String, keepBackup: Bool = false) throws {
        let (metadata, tensors) = serialized()
        let bytes = try SafetensorsFile.serialize(tensors: tensors, metadata: metadata)
        if keepBackup, FileManager.default.fileExists(atPath: path) {
            let backup = path + ".bak"
            try? FileManager.default.removeItem(atPath: backup)
            try FileManager.default.copyItem(atPath: path, toPath: backup)
        }
        try writeAtomically(bytes, to: path)
    }

    /// Draws n latent vectors from the prior, truncated by ψ when `truncation` ≠ 1.
    public func sampleLatents(_ n: Int, truncation: Float = 1, using rng: inout RandomGenerator) -> Tensor {
        prior.sample(n, dimension: latentDimension, truncation: truncation, using: &rng)
    }

    /// Runs the generator in evaluation mode without recording gradients.
    public func generate(_ z: Tensor) -> Tensor {
        withoutGrad { generator(z) }
    }
}
