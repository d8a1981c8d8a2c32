/// A float32 tensor: a shape and contiguous row-major (C order) storage.
///
/// Tensors are reference types so that an autodiff graph can point at its
/// inputs and an optimizer can update a parameter in place. Values produced by
/// ops are never mutated afterwards; only leaves (parameters, running
/// statistics) change, through the explicit `update` methods.
///
/// Sendable because the browser hands finished frames between threads; the
/// mutating entry points are used by one thread at a time (training or the
/// optimizer), never concurrently with reads of the same tensor.
public final class Tensor: @unchecked Sendable {
    /// Dimensions, outermost first. A scalar has shape `[]`.
    public let shape: [Int]
    /// Row-major values; `storage.count == shape.product`.
    public private(set) var storage: [Float]
    /// Leaves that gradients may be asked for. Non-leaf tensors require grad
    /// exactly when they have a recipe.
    public private(set) var requiresGrad: Bool
    /// How this tensor was made, kept only while gradients are being recorded.
    let recipe: Recipe?
    /// Counts in-place changes of a leaf, so caches derived from its values
    /// (folded inference weights) know when they are stale.
    public private(set) var version = 0

    public init(shape: [Int], storage: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(storage.count == shape.product,
                     "storage of \(storage.count) values does not fit shape \(shape)")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
        self.recipe = nil
    }

    init(shape: [Int], storage: [Float], recipe: Recipe?) {
        self.shape = shape
        self.storage = storage
        self.requiresGrad = recipe != nil
        self.recipe = recipe
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// The single value of a one-element tensor.
    public var scalar: Float {
        precondition(storage.count == 1, "scalar of a tensor with shape \(shape)")
        return storage[0]
    }

    /// Marks a leaf as a parameter (or an input) whose gradient may be requested.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        precondition(recipe == nil, "only leaves can change requiresGrad")
        requiresGrad = flag
        return self
    }

    // MARK: in-place updates of leaves (optimizers, running statistics, loading)

    /// Replaces the values of a leaf, keeping its shape.
    public func assign(_ values: [Float]) {
        precondition(recipe == nil, "assign to a non-leaf tensor")
        precondition(values.count == storage.count, "assign \(values.count) values to shape \(shape)")
        storage = values
        version &+= 1
    }

    public func assign(_ other: Tensor) {
        precondition(other.shape == shape, "assign \(other.shape) to \(shape)")
        assign(other.storage)
    }

    /// Mutates the values of a leaf in place (no copy when uniquely referenced).
    public func update(_ body: (inout UnsafeMutableBufferPointer<Float>) -> Void) {
        precondition(recipe == nil, "update of a non-leaf tensor")
        storage.withUnsafeMutableBufferPointer { body(&$0) }
        version &+= 1
    }

    /// Clamps a leaf's values to [lo, hi] in place (WGAN weight clipping).
    public func clampInPlace(_ lo: Float, _ hi: Float) {
        update { buffer in
            for i in buffer.indices { buffer[i] = Swift.min(Swift.max(buffer[i], lo), hi) }
        }
    }
}

extension Tensor {
    // MARK: creation

    public convenience init(_ scalar: Float) {
        self.init(shape: [], storage: [scalar])
    }

    public convenience init(_ values: [Float], shape: [Int]? = nil) {
        self.init(shape: shape ?? [values.count], storage: values)
    }

    public static func zeros(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: [Float](repeating: 0, count: shape.product))
    }

    public static func ones(_ shape: [Int]) -> Tensor {
        full(shape, 1)
    }

    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        Tensor(shape: shape, storage: [Float](repeating: value, count: shape.product))
    }

    /// Standard normal values scaled by `std` around `mean`.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              using rng: inout RandomGenerator) -> Tensor {
        var values = [Float](repeating: 0, count: shape.product)
        rng.fillNormal(&values, mean: mean, std: std)
        return Tensor(shape: shape, storage: values)
    }

    /// Uniform values in [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               using rng: inout RandomGenerator) -> Tensor {
        var values = [Float](repeating: 0, count: shape.product)
        rng.fillUniform(&values, low: low, high: high)
        return Tensor(shape: shape, storage: values)
    }

    /// A copy that shares values but has no history: gradients stop here.
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage)
    }

    /// Appends the values as little-endian float32 bytes (the layout of
    /// safetensors F32 data and `.npy` `<f4` arrays).
    public func appendLittleEndianBytes(to out: inout [UInt8]) {
        storage.withUnsafeBufferPointer { values in
            #if _endian(little)
            out.append(contentsOf: UnsafeRawBufferPointer(values))
            #else
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            #endif
        }
    }

    /// Runs `body` with read access to the values.
    @inlinable
    public func withValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = storage.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(preview)\(storage.count > 8 ? ", …" : "")])"
    }
}

extension Sequence where Element == Int {
    /// Product of the elements (1 for an empty array).
    @inlinable public var product: Int { reduce(1, *) }
}
