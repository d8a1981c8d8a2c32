/// A foreground/background pair of terminal colour values (palette indices
/// or packed direct colours; −1 is the terminal's default colour).
public struct ColorPairKey: Hashable, Sendable {
    public var foreground: Int32
    public var background: Int32
    public init(foreground: Int32, background: Int32) { (self.foreground, self.background) = (foreground, background) }
}

/// Assigns ncurses colour-pair ids to the colour pairs a frame uses.
///
/// Terminals have a fixed number of pairs (65 536 on xterm-256color and
/// xterm-direct, far fewer than the colour combinations a long walk
/// produces). `alloc_pair`'s own eviction may recycle a pair that is still
/// on screen, and `reset_color_pairs()` every frame forces a full repaint.
/// Here ids are assigned a whole frame at a time: a pair used by the frame
/// keeps its id (so unchanged cells are not resent), and only ids that the
/// frame does not use are recycled, least recently used first. Redefining a
/// recycled id makes ncurses repaint the cells that still carry it, and the
/// frame rewrites those cells anyway.
public struct PairAllocator: Sendable {
    /// Usable ids are 1..<capacity (pair 0 is the terminal default).
    public let capacity: Int
    private var idOf: [ColorPairKey: Int32] = [:]
    private var keyOf: [Int32: ColorPairKey] = [:]
    private var lastFrame: [Int32: Int] = [:]
    private var nextFresh: Int32 = 1
    private var frame = 0

    public init(capacity: Int) { self.capacity = max(capacity, 1) }

    /// The result of assigning one frame: an id for each key (0 when the
    /// terminal has too few pairs for the frame), and the ids to (re)define
    /// with `init_extended_pair` before the frame is written.
    public struct Assignment: Sendable {
        public var ids: [ColorPairKey: Int32]
        public var definitions: [(id: Int32, key: ColorPairKey)]
    }

    public mutating func assign(_ keys: Set<ColorPairKey>) -> Assignment {
        frame += 1
        var ids: [ColorPairKey: Int32] = [:]
        var fresh: [ColorPairKey] = []
        for key in keys {
            if let id = idOf[key] {
                ids[key] = id
                lastFrame[id] = frame
            } else {
                fresh.append(key)
            }
        }
        // Deterministic order, so the same frames always get the same ids.
        fresh.sort { ($0.foreground, $0.background) < ($1.foreground, $1.background) }
        var definitions: [(Int32, ColorPairKey)] = []
        var recyclable: [Int32]?
        for key in fresh {
            var id: Int32
            if Int(nextFresh) < capacity {
                id = nextFresh
                nextFresh += 1
            } else {
                if recyclable == nil {
                    // Oldest first; ties by id. Popped from the end.
                    recyclable = lastFrame.filter { $0.value < frame }
                        .sorted { ($0.value, $0.key) > ($1.value, $1.key) }.map(\.key)
                }
                guard let victim = recyclable!.popLast() else { ids[key] = 0; continue }
                id = victim
                if let old = keyOf[id] { idOf[old] = nil }
            }
            idOf[key] = id
            keyOf[id] = key
            lastFrame[id] = frame
            ids[key] = id
            definitions.append((id, key))
        }
        return Assignment(ids: ids, definitions: definitions)
    }

    /// Whether `assign(keys)` would have to recycle ids, i.e. redefine
    /// pairs that earlier frames used: more of the keys are new than fresh
    /// ids remain.
    public func needsRecycling(_ keys: Set<ColorPairKey>) -> Bool {
        let available = capacity - Int(nextFresh)
        guard keys.count > available else { return false }
        return keys.lazy.filter { idOf[$0] == nil }.count > available
    }

    /// Forgets every assignment (after the terminal's pairs were reset).
    public mutating func reset() {
        idOf = [:]; keyOf = [:]; lastFrame = [:]; nextFresh = 1
    }
}
