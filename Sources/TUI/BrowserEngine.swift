import Imaging
import Latent
import NN
import Tensors

/// Identifies one walk: the same key means the same latents at every step,
/// so frames rendered for it can be reused.
public struct WalkKey: Hashable, Sendable {
    /// Changes whenever z0 changes (a new draw, an undo to an older z0).
    public var originID: Int
    public var method: String
    public var direction: Int
    public var mode: WalkMode
    /// The stride's bit pattern (exact equality, hashable).
    public var strideBits: UInt32

    public init(originID: Int, method: String, direction: Int, mode: WalkMode, stride: Float) {
        (self.originID, self.method, self.direction, self.mode) = (originID, method, direction, mode)
        strideBits = stride.bitPattern
    }
}

/// Everything the worker needs to render the frames one state shows.
public struct FrameRequest: Sendable {
    /// Increases with every request; results of older ones are dropped.
    public var generation: Int
    public var key: WalkKey
    /// [1, d]
    public var z0: Tensor
    /// [1, d], unit.
    public var direction: Tensor
    public var layer: Int
    public var stride: Float
    public var step: Int
    /// Steps the filmstrip shows (the current one included when it fits).
    public var filmstripSteps: [Int]
    /// Non-empty: also render `step` under these modes (the compare view).
    public var compareModes: [WalkMode]
}

/// One rendered frame with its readouts against z0.
public struct RenderedFrame: Sendable {
    public var image: RGBImage
    public var readouts: Readouts
}

/// What the worker sends back for a `FrameRequest`.
public struct FrameResult: Sendable {
    public var generation: Int
    public var key: WalkKey
    public var step: Int
    public var origin: RGBImage?
    public var current: RenderedFrame?
    public var filmstrip: [(step: Int, image: RGBImage)]
    public var comparison: [WalkMode: RGBImage]
    /// Why frames are missing (e.g. the density walk without C); for the
    /// status line.
    public var error: String?
    /// Generator rows computed for this result (0 when all came from the
    /// cache): the benchmark reports it.
    public var renderedRows: Int
}

/// The worker-thread half of the browser: owns the checkpoint (generator
/// calls, label saves) and a cache of rendered frames. Not thread-safe by
/// design; the app confines it to one serial queue, the benchmark and tests
/// call it directly.
public final class BrowserEngine: @unchecked Sendable {
    public let checkpoint: Checkpoint
    public let context: BrowserContext
    /// Frames per walk, for the walks seen most recently (oldest first).
    private var cache: [WalkKey: [Int: RenderedFrame]] = [:]
    private var recency: [WalkKey] = []
    private var origins: [Int: RGBImage] = [:]
    /// Walks kept in the cache: a few directions × modes of stepping back
    /// and forth, at 3–12 kB a frame.
    private let cachedWalks = 24

    public init(checkpoint: Checkpoint, context: BrowserContext) {
        self.checkpoint = checkpoint
        self.context = context
    }

    /// Renders what `request` asks for, reusing cached frames: a step key
    /// usually needs one new filmstrip frame, and all missing frames of a
    /// walk go through the generator in one batch (current frame first).
    public func render(_ request: FrameRequest) -> FrameResult {
        var result = FrameResult(generation: request.generation, key: request.key, step: request.step, origin: nil,
                                 current: nil, filmstrip: [], comparison: [:], error: nil, renderedRows: 0)
        var wanted = [request.step] + request.filmstripSteps.filter { $0 != request.step }
        if origins[request.key.originID] == nil && !wanted.contains(0) { wanted.append(0) }
        do {
            result.renderedRows += try ensure(wanted, key: request.key, request: request)
            for mode in request.compareModes where mode != request.key.mode {
                var key = request.key
                key.mode = mode
                do {
                    result.renderedRows += try ensure([request.step], key: key, request: request)
                } catch {
                    result.error = message(error)
                }
                if let frame = cache[key]?[request.step] { result.comparison[mode] = frame.image }
            }
        } catch {
            result.error = message(error)
        }
        let frames = cache[request.key] ?? [:]
        if let zero = frames[0] { origins[request.key.originID] = zero.image }
        result.origin = origins[request.key.originID]
        result.current = frames[request.step]
        if let current = result.current, !request.compareModes.isEmpty {
            result.comparison[request.key.mode] = current.image
        }
        result.filmstrip = request.filmstripSteps.compactMap { s in frames[s].map { (s, $0.image) } }
        return result
    }

    /// Renders the steps of walk `key` that are not cached; returns the
    /// number of generator rows it ran.
    private func ensure(_ steps: [Int], key: WalkKey, request: FrameRequest) throws -> Int {
        touch(key)
        let have = cache[key] ?? [:]
        var missing: [Int] = []
        for s in steps where have[s] == nil && !missing.contains(s) { missing.append(s) }
        guard !missing.isEmpty else { return 0 }
        let walk = try Walk(checkpoint: checkpoint, z0: request.z0, direction: request.direction,
                            stride: request.stride, mode: key.mode, file: context.checkpointPath)
        let latents = walk.latents(offsets: missing.map { Float($0) * request.stride })
        let (images, readouts) = walk.measure(latents: latents, steps: missing, with: checkpoint, layer: request.layer)
        let pictures = rgbImages(from: images, valueRange: checkpoint.valueRange)
        var frames = have
        for (i, s) in missing.enumerated() where i < pictures.count && i < readouts.count {
            frames[s] = RenderedFrame(image: pictures[i], readouts: readouts[i])
        }
        cache[key] = frames
        return missing.count
    }

    /// Marks `key` most recent, evicting the oldest walks beyond the limit.
    private func touch(_ key: WalkKey) {
        if let i = recency.firstIndex(of: key) { recency.remove(at: i) }
        recency.append(key)
        while recency.count > cachedWalks {
            let old = recency.removeFirst()
            cache[old] = nil
        }
        if origins.count > cachedWalks {
            let keep = Set(recency.map(\.originID))
            origins = origins.filter { keep.contains($0.key) }
        }
    }

    /// Drops every cached frame (e.g. after the checkpoint changed).
    public func clearCache() {
        cache = [:]
        recency = []
        origins = [:]
    }

    /// A short line for the status bar.
    func message(_ error: Error) -> String {
        if let e = error as? InputError { return e.message }
        return "\(error)"
    }
}
