import Foundation
import Tensors

/// Reads fields of one JSON object with errors that name the spec key and field.
struct FieldReader {
    let object: [String: Any]
    let file: String?
    let key: String

    func fail(_ message: String) -> InputError { InputError(.badSpec, file: file, key: key, message) }

    func int(_ name: String, default value: Int? = nil) throws -> Int {
        guard let raw = object[name] else {
            if let value { return value }
            throw fail("missing field \"\(name)\"")
        }
        guard let number = raw as? NSNumber, !isJSONBool(number),
              let exact = Int(exactly: number.doubleValue) else {
            throw fail("field \"\(name)\" must be an integer")
        }
        return exact
    }

    func positiveInt(_ name: String, default value: Int? = nil) throws -> Int {
        let v = try int(name, default: value)
        guard v > 0, v <= 1 << 24 else { throw fail("field \"\(name)\" must be a positive integer, is \(v)") }
        return v
    }

    func nonNegativeInt(_ name: String, default value: Int? = nil) throws -> Int {
        let v = try int(name, default: value)
        guard v >= 0, v <= 1 << 24 else { throw fail("field \"\(name)\" must be ≥ 0, is \(v)") }
        return v
    }

    func float(_ name: String, default value: Float? = nil) throws -> Float {
        guard let raw = object[name] else {
            if let value { return value }
            throw fail("missing field \"\(name)\"")
        }
        guard let number = raw as? NSNumber, !isJSONBool(number),
              number.doubleValue.isFinite else {
            throw fail("field \"\(name)\" must be a finite number")
        }
        return number.floatValue
    }

    func bool(_ name: String, default value: Bool) throws -> Bool {
        guard let raw = object[name] else { return value }
        guard let number = raw as? NSNumber, isJSONBool(number) else {
            throw fail("field \"\(name)\" must be true or false")
        }
        return number.boolValue
    }

    func intArray(_ name: String) throws -> [Int]? {
        guard let raw = object[name] else { return nil }
        guard let values = raw as? [NSNumber], !values.isEmpty,
              values.allSatisfy({ Int(exactly: $0.doubleValue).map { $0 > 0 && $0 <= 1 << 24 } ?? false }) else {
            throw fail("field \"\(name)\" must be a list of positive integers")
        }
        return values.map(\.intValue)
    }

    func string(_ name: String) throws -> String? {
        guard let raw = object[name] else { return nil }
        guard let s = raw as? String else { throw fail("field \"\(name)\" must be a string") }
        return s
    }
}

/// JSON booleans arrive as NSNumbers of ObjC type "c"; `is Bool` would also accept 0 and 1.
func isJSONBool(_ number: NSNumber) -> Bool { number.objCType.pointee == CChar(UInt8(ascii: "c")) }

extension LayerSpec {
    init(json object: [String: Any], file: String?, key: String) throws {
        let r = FieldReader(object: object, file: file, key: key)
        guard let op = object["op"] as? String else { throw r.fail("missing \"op\"") }
        switch op.lowercased() {
        case "linear":
            self = .linear(inFeatures: try r.positiveInt("in"), outFeatures: try r.positiveInt("out"),
                           bias: try r.bool("bias", default: true))
        case "conv2d":
            self = .conv2d(inChannels: try r.positiveInt("in"), outChannels: try r.positiveInt("out"),
                           kernel: try r.positiveInt("kernel"), stride: try r.positiveInt("stride", default: 1),
                           padding: try r.nonNegativeInt("padding", default: 0), bias: try r.bool("bias", default: true))
        case "convtranspose2d":
            let stride = try r.positiveInt("stride", default: 1)
            let outputPadding = try r.nonNegativeInt("output_padding", default: 0)
            guard outputPadding < stride else { throw r.fail("output_padding must be smaller than stride") }
            self = .convTranspose2d(inChannels: try r.positiveInt("in"), outChannels: try r.positiveInt("out"),
                                    kernel: try r.positiveInt("kernel"), stride: stride,
                                    padding: try r.nonNegativeInt("padding", default: 0),
                                    outputPadding: outputPadding, bias: try r.bool("bias", default: true))
        case "batchnorm1d", "batchnorm2d":
            let eps = try r.float("eps", default: 1e-5)
            guard eps > 0 else { throw r.fail("eps must be positive") }
            self = .batchNorm(features: try r.positiveInt("features"), eps: eps, spatial: op.lowercased() == "batchnorm2d")
        case "relu": self = .relu
        case "leakyrelu": self = .leakyRelu(slope: try r.float("slope", default: 0.01))
        case "elu": self = .elu(alpha: try r.float("alpha", default: 1))
        case "tanh": self = .tanh
        case "sigmoid": self = .sigmoid
        case "identity": self = .identity
        case "dropout":
            let p = try r.float("p", default: 0.5)
            guard p >= 0 && p < 1 else { throw r.fail("dropout p must be in [0, 1)") }
            self = .dropout(p: p)
        case "flatten": self = .flatten
        case "unflatten":
            guard let shape = try r.intArray("shape") else { throw r.fail("missing field \"shape\"") }
            self = .unflatten(shape: shape)
        case "upsample": self = .upsample(scale: try r.positiveInt("scale", default: 2))
        case "avgpool": self = .avgPool(kernel: try r.positiveInt("kernel"))
        default:
            throw r.fail("unknown op \"\(op)\" (known: \(LayerSpec.knownOps.joined(separator: ", ")))")
        }
    }

    var jsonObject: [String: Any] {
        switch self {
        case let .linear(i, o, bias): ["op": op, "in": i, "out": o, "bias": bias]
        case let .conv2d(i, o, k, s, p, bias): ["op": op, "in": i, "out": o, "kernel": k, "stride": s, "padding": p, "bias": bias]
        case let .convTranspose2d(i, o, k, s, p, outPad, bias):
            ["op": op, "in": i, "out": o, "kernel": k, "stride": s, "padding": p, "output_padding": outPad, "bias": bias]
        case let .batchNorm(f, eps, _): ["op": op, "features": f, "eps": Double(eps)]
        case let .leakyRelu(slope): ["op": op, "slope": Double(slope)]
        case let .elu(alpha): ["op": op, "alpha": Double(alpha)]
        case let .dropout(p): ["op": op, "p": Double(p)]
        case let .unflatten(shape): ["op": op, "shape": shape]
        case let .upsample(scale): ["op": op, "scale": scale]
        case let .avgPool(k): ["op": op, "kernel": k]
        case .relu, .tanh, .sigmoid, .identity, .flatten: ["op": op]
        }
    }
}

extension NetworkSpec {
    /// Parses a spec stored as a JSON string under metadata key `key`.
    public init(json text: String, file: String?, key: String) throws {
        guard let data = text.data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw InputError(.badSpec, file: file, key: key, "is not a JSON object")
        }
        let r = FieldReader(object: object, file: file, key: key)
        guard let rawLayers = object["layers"] as? [Any], !rawLayers.isEmpty else {
            throw r.fail("needs a non-empty \"layers\" list")
        }
        let layers = try rawLayers.enumerated().map { index, raw -> LayerSpec in
            guard let layer = raw as? [String: Any] else {
                throw InputError(.badSpec, file: file, key: "\(key).layers[\(index)]", "is not a JSON object")
            }
            return try LayerSpec(json: layer, file: file, key: "\(key).layers[\(index)]")
        }
        let inputShape = try r.intArray("input_shape")
        let inputSize: Int
        if object["latent_dim"] != nil {
            inputSize = try r.positiveInt("latent_dim")
        } else if object["input_size"] != nil {
            inputSize = try r.positiveInt("input_size")
        } else if let inputShape {
            inputSize = inputShape.product
        } else if case let .linear(i, _, _) = layers[0] {
            inputSize = i
        } else {
            throw r.fail("needs \"latent_dim\" (or \"input_shape\")")
        }
        if let inputShape, inputShape.product != inputSize {
            throw r.fail("input_shape \(inputShape) does not hold \(inputSize) values")
        }
        var prior: Prior?
        if let name = try r.string("prior") {
            guard let p = Prior(rawValue: name) else { throw r.fail("prior must be \"gaussian\" or \"uniform\", is \"\(name)\"") }
            prior = p
        }
        var valueRange: (Float, Float)?
        if let raw = object["value_range"] {
            guard let pair = raw as? [NSNumber], pair.count == 2, pair[0].floatValue < pair[1].floatValue,
                  pair[0].doubleValue.isFinite, pair[1].doubleValue.isFinite else {
                throw r.fail("value_range must be [low, high] with low < high")
            }
            valueRange = (pair[0].floatValue, pair[1].floatValue)
        }
        let mapping = try r.nonNegativeInt("mapping_layers", default: 0)
        guard mapping <= layers.count else { throw r.fail("mapping_layers \(mapping) exceeds the \(layers.count) layers") }
        self.init(prefix: try r.string("prefix") ?? "", layers: layers, inputSize: inputSize, inputShape: inputShape,
                  prior: prior, imageSize: object["image_size"] != nil ? try r.positiveInt("image_size") : nil,
                  channels: object["channels"] != nil ? try r.positiveInt("channels") : nil,
                  valueRange: valueRange, mappingLayers: mapping)
        let known: Set = ["prefix", "layers", "input_shape", "latent_dim", "input_size", "prior", "value_range",
                          "mapping_layers", "image_size", "channels"]
        for (k, v) in object where !known.contains(k) {
            if let data = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys]) {
                extra[k] = String(decoding: data, as: UTF8.self)
            }
        }
        // Catch impossible layer chains now, with the layer named.
        do { _ = try shapes() } catch let error as InputError {
            throw InputError(.badSpec, file: file, key: "\(key).\(error.key ?? "")", error.message)
        }
    }

    /// The spec as a JSON string for checkpoint metadata.
    public var jsonString: String {
        var object: [String: Any] = ["prefix": prefix, "layers": layers.map(\.jsonObject)]
        if let prior {
            object["latent_dim"] = inputSize
            object["prior"] = prior.rawValue
        } else {
            object["input_size"] = inputSize
        }
        if let inputShape { object["input_shape"] = inputShape }
        if let imageSize { object["image_size"] = imageSize }
        if let channels { object["channels"] = channels }
        if let valueRange { object["value_range"] = [Double(valueRange.0), Double(valueRange.1)] }
        if mappingLayers > 0 { object["mapping_layers"] = mappingLayers }
        for (k, v) in extra {
            if let data = v.data(using: .utf8), let value = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) {
                object[k] = value
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
