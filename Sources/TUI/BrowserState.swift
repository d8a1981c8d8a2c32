import Latent
import NN

/// Everything the browser's keys change, as a plain value: `reduce` maps
/// (state, action) to (state, effect) without touching a terminal, a file or
/// a generator, so every key's behaviour is unit-tested. What the state
/// *means* (z, frames, readouts) is computed by the app from it.
public struct BrowserState: Equatable, Sendable {
    /// A direction set in the checkpoint (dplase, sefa, pca, random).
    public struct Method: Equatable, Sendable {
        public var name: String
        /// One label per direction ("" when unnamed); its count is k.
        public var labels: [String]
        public init(name: String, labels: [String]) { (self.name, self.labels) = (name, labels) }
        public var count: Int { labels.count }
    }

    /// How the walk's z0 was made: drawn from the prior with `seed` and
    /// truncation ψ (through rejection sampling when `rejection`), or
    /// (`seed == nil`) given by the user (`--z F.npy`).
    public struct Origin: Hashable, Sendable {
        public var seed: UInt64?
        public var truncation: Float
        public var rejection: Bool
        public init(seed: UInt64?, truncation: Float = 1, rejection: Bool = false) {
            (self.seed, self.truncation, self.rejection) = (seed, truncation, rejection)
        }
    }

    /// What the text field is for.
    public enum InputPurpose: Equatable, Sendable { case label, truncation }

    /// The open text field.
    public struct TextInput: Equatable, Sendable {
        public var purpose: InputPurpose
        public var text: String
        public init(purpose: InputPurpose, text: String) { (self.purpose, self.text) = (purpose, text) }
    }

    /// Bounds the keys respect.
    public struct Limits: Equatable, Sendable {
        /// Stride ε range; +/− clamp to it.
        public var stride: ClosedRange<Float>
        /// Factor per +/− press.
        public var strideFactor: Float
        /// |step| bound for ←/→.
        public var maxStep: Int
        /// Playback bounces between −playSteps and +playSteps.
        public var playSteps: Int
        /// Accepted truncation ψ.
        public var truncation: ClosedRange<Float>
        /// Undo entries kept.
        public var undoDepth: Int
        /// Longest direction name.
        public var labelLength: Int

        public init(stride: ClosedRange<Float>, strideFactor: Float = 1.25, maxStep: Int = 50, playSteps: Int = 8,
                    truncation: ClosedRange<Float> = Prior.truncationRange, undoDepth: Int = 256, labelLength: Int = 40) {
            precondition(stride.lowerBound > 0 && strideFactor > 1 && maxStep > 0 && playSteps > 0)
            (self.stride, self.strideFactor, self.maxStep, self.playSteps) = (stride, strideFactor, maxStep, playSteps)
            (self.truncation, self.undoDepth, self.labelLength) = (truncation, undoDepth, labelLength)
        }
    }

    /// The part of the state that `u` restores: where the walk is.
    public struct Snapshot: Equatable, Sendable {
        public var methodIndex: Int
        public var direction: Int
        public var step: Int
        public var stride: Float
        public var mode: WalkMode
        public var origin: Origin
        public var truncation: Float
    }

    public var methods: [Method]
    public var methodIndex: Int
    /// Selected direction (row of the method's direction tensor).
    public var direction: Int
    /// The walk is at z(step · stride) along the selected direction.
    public var step: Int
    public var stride: Float
    public var mode: WalkMode
    /// Modes the checkpoint supports (density needs the corrector C).
    public var availableModes: [WalkMode]
    public var origin: Origin
    /// ψ for the next `r`; does not change the current z0.
    public var truncation: Float
    /// `r` draws through discriminator rejection sampling (the file has a calibrated critic).
    public var rejectionSampling = false
    public var playing: Bool
    /// +1 or −1: where the next playback tick goes.
    public var playDirection: Int
    public var comparing: Bool
    public var showingHelp: Bool
    public var undoStack: [Snapshot]
    /// The last message (a path written, a refusal); shown on the status line.
    public var status: String
    public var input: TextInput?
    public var limits: Limits

    public init(methods: [Method], methodIndex: Int = 0, direction: Int = 0, stride: Float,
                mode: WalkMode = .linear, availableModes: [WalkMode] = WalkMode.allCases,
                origin: Origin, limits: Limits) {
        precondition(!availableModes.isEmpty, "no walk mode available")
        self.methods = methods
        self.methodIndex = methods.isEmpty ? 0 : min(max(methodIndex, 0), methods.count - 1)
        self.direction = direction
        self.step = 0
        self.stride = min(max(stride, limits.stride.lowerBound), limits.stride.upperBound)
        self.mode = availableModes.contains(mode) ? mode : availableModes[0]
        self.availableModes = availableModes
        self.origin = origin
        self.truncation = origin.truncation
        self.playing = false
        self.playDirection = 1
        self.comparing = false
        self.showingHelp = false
        self.undoStack = []
        self.status = ""
        self.input = nil
        self.limits = limits
        self.direction = min(max(direction, 0), max(directionCount - 1, 0))
    }

    public var method: Method? { methods.isEmpty ? nil : methods[methodIndex] }
    public var directionCount: Int { method?.count ?? 0 }
    /// The walk's signed distance from z0: step · stride.
    public var offset: Float { Float(step) * stride }

    public var snapshot: Snapshot {
        Snapshot(methodIndex: methodIndex, direction: direction, step: step, stride: stride, mode: mode,
                 origin: origin, truncation: truncation)
    }

    mutating func restore(_ s: Snapshot) {
        (methodIndex, direction, step, stride) = (s.methodIndex, s.direction, s.step, s.stride)
        (mode, origin, truncation) = (s.mode, s.origin, s.truncation)
    }

    /// Records the current position before a change, so `u` can return.
    mutating func pushUndo() {
        undoStack.append(snapshot)
        if undoStack.count > limits.undoDepth { undoStack.removeFirst(undoStack.count - limits.undoDepth) }
    }
}

/// What the app must do after an action (htop's "what happens next").
public enum Effect: Equatable, Sendable {
    /// Nothing visible changed: no refresh.
    case none
    /// Only the screen's own elements changed (status, help, text field):
    /// draw again with the frames already computed.
    case redraw
    /// The walk moved (step, direction, stride, mode, method, compare view):
    /// compute the frames and readouts for the new state, then draw.
    case render
    /// z0 changed: make it from `state.origin` (sample with its seed and ψ,
    /// or reload the user's z when the seed is nil), then render.
    case newOrigin
    /// Write a file for the current state; report its path with `.show`.
    case write(Output)
    /// Save the direction's new label into the checkpoint (previous file
    /// kept as `.bak`); report the path with `.show`.
    case saveLabel(method: String, direction: Int, label: String)
    /// Restore the terminal and exit 0.
    case quit
}

/// The files the browser's keys write.
public enum Output: Equatable, Sendable {
    /// `w`: the current z as `.npy` [1, d].
    case latent
    /// `e`: the walk's frames, as `export` writes them, into a new folder.
    case walk
    /// `s`: the current frame as PNG.
    case frame
    /// `g`: a contact sheet (grid of the walk's frames).
    case contactSheet
}

/// The browser's transition function: pure, total, never traps.
///
/// Rules that are not obvious from the key list:
/// - While the help box is open, any key closes it (and does nothing else),
///   except `q`/Esc (quit) and resizes.
/// - While the text field is open only `.text`, `.resize`, `.show` act.
/// - Manual steps pause playback; undo restores the walk position (step,
///   direction, stride, mode, method, z0, ψ), not the view toggles.
/// - `r` takes the next seed (seed + 1, or 0 after a user-given z0): the
///   seed shown is always the one to pass to `--seed` to get z0 back.
public func reduce(_ state: BrowserState, _ action: Action) -> (BrowserState, Effect) {
    var s = state

    if s.input != nil {
        switch action {
        case .text(let edit): return editText(s, edit)
        case .resize: return (s, .redraw)
        case .show(let message): s.status = message; return (s, .redraw)
        default: return (s, .none)
        }
    }
    if s.showingHelp {
        switch action {
        case .quit: return (s, .quit)
        case .resize: return (s, .redraw)
        case .tick, .show: break
        default:
            s.showingHelp = false
            return (s, .redraw)
        }
    }

    switch action {
    case .stepForward, .stepBackward:
        let next = s.step + (action == .stepForward ? 1 : -1)
        s.playing = false
        guard abs(next) <= s.limits.maxStep else {
            s.status = "step limit ±\(s.limits.maxStep): raise the stride with + to go further"
            return (s, .redraw)
        }
        s.pushUndo()
        s.step = next
        return (s, .render)

    case .nextDirection, .previousDirection:
        guard s.directionCount > 0 else {
            s.status = "no directions in \(s.method?.name ?? "this checkpoint")"
            return (s, .redraw)
        }
        let next = s.direction + (action == .nextDirection ? 1 : -1)
        guard next >= 0 && next < s.directionCount else { return (s, .none) }
        s.pushUndo()
        s.direction = next
        return (s, .render)

    case .increaseStride, .decreaseStride:
        let factor = action == .increaseStride ? s.limits.strideFactor : 1 / s.limits.strideFactor
        let next = min(max(s.stride * factor, s.limits.stride.lowerBound), s.limits.stride.upperBound)
        guard next != s.stride else {
            let bound = action == .increaseStride ? "maximum" : "minimum"
            s.status = "stride at its \(bound) \(formatFixed(Double(s.stride), decimals: 3))"
            return (s, .redraw)
        }
        s.pushUndo()
        s.stride = next
        return (s, .render)

    case .cycleMode:
        guard s.availableModes.count > 1 else {
            s.status = "only the \(s.mode.title) walk is available"
            return (s, .redraw)
        }
        var next = s.mode.next
        while !s.availableModes.contains(next) { next = next.next }
        s.pushUndo()
        s.mode = next
        s.status = "walk: \(next.title)" + (s.availableModes.contains(.density) ? ""
            : " (density-corrected needs a corrector in the checkpoint)")
        return (s, .render)

    case .cycleMethod:
        guard s.methods.count > 1 else {
            s.status = s.methods.isEmpty ? "the checkpoint has no direction sets"
                : "\(s.methods[0].name) is the only direction set in the checkpoint"
            return (s, .redraw)
        }
        s.pushUndo()
        s.methodIndex = (s.methodIndex + 1) % s.methods.count
        s.direction = min(s.direction, max(s.directionCount - 1, 0))
        return (s, .render)

    case .returnToOrigin:
        s.playing = false
        guard s.step != 0 else { return (s, state.playing ? .redraw : .none) }
        s.pushUndo()
        s.step = 0
        return (s, .render)

    case .newOrigin:
        s.pushUndo()
        let seed = s.origin.seed.map { $0 &+ 1 } ?? 0
        s.origin = BrowserState.Origin(seed: seed, truncation: s.truncation, rejection: s.rejectionSampling)
        s.step = 0
        s.status = "new z0: seed \(seed)" + (s.truncation == 1 ? "" : ", ψ \(formatFixed(Double(s.truncation), decimals: 2))")
            + (s.rejectionSampling ? " · DRS" : "")
        return (s, .newOrigin)

    case .togglePlay:
        s.playing.toggle()
        if s.playing { s.pushUndo() }
        return (s, .redraw)

    case .tick:
        guard s.playing else { return (s, .none) }
        var next = s.step + s.playDirection
        if abs(next) > s.limits.playSteps {
            s.playDirection = next > 0 ? -1 : 1
            next = s.step + s.playDirection
        }
        s.step = next
        return (s, .render)

    case .nameDirection:
        guard let method = s.method, s.direction < method.count else {
            s.status = "no direction to name"
            return (s, .redraw)
        }
        s.playing = false
        s.input = .init(purpose: .label, text: method.labels[s.direction])
        return (s, .redraw)

    case .setTruncation:
        s.playing = false
        s.input = .init(purpose: .truncation, text: formatFixed(Double(s.truncation), decimals: 2))
        return (s, .redraw)

    case .undo:
        guard let last = s.undoStack.popLast() else {
            s.status = "nothing to undo"
            return (s, .redraw)
        }
        s.playing = false
        let originChanged = last.origin != s.origin
        s.restore(last)
        s.status = ""
        return (s, originChanged ? .newOrigin : .render)

    case .writeLatent: return (s, .write(.latent))
    case .exportWalk: return (s, .write(.walk))
    case .saveFrame: return (s, .write(.frame))
    case .writeContactSheet: return (s, .write(.contactSheet))

    case .toggleCompare:
        s.comparing.toggle()
        return (s, .render)

    case .toggleHelp:
        s.showingHelp.toggle()
        return (s, .redraw)

    case .quit:
        return (s, .quit)

    case .resize:
        return (s, .redraw)

    case .show(let message):
        s.status = message
        return (s, .redraw)

    case .text:
        return (s, .none)
    }
}

/// The text field's transitions (the field is open).
private func editText(_ state: BrowserState, _ edit: TextEdit) -> (BrowserState, Effect) {
    var s = state
    guard var input = s.input else { return (s, .none) }
    switch edit {
    case .insert(let c):
        guard input.text.count < s.limits.labelLength, displayWidth(c) > 0 else { return (s, .none) }
        input.text.append(c)
        s.input = input
        return (s, .redraw)
    case .deleteBackward:
        guard !input.text.isEmpty else { return (s, .none) }
        input.text.removeLast()
        s.input = input
        return (s, .redraw)
    case .cancel:
        s.input = nil
        s.status = input.purpose == .label ? "name unchanged" : "ψ unchanged"
        return (s, .redraw)
    case .commit:
        switch input.purpose {
        case .label:
            let label = input.text.trimmingWhitespace()
            s.input = nil
            guard let method = s.method, s.direction < method.count else { return (s, .redraw) }
            guard method.labels[s.direction] != label else {
                s.status = "name unchanged"
                return (s, .redraw)
            }
            s.methods[s.methodIndex].labels[s.direction] = label
            return (s, .saveLabel(method: method.name, direction: s.direction, label: label))
        case .truncation:
            let bounds = s.limits.truncation
            guard let psi = Float(input.text.trimmingWhitespace()), psi.isFinite, bounds.contains(psi) else {
                s.status = "ψ must be a number from \(formatFixed(Double(bounds.lowerBound), decimals: 2)) "
                    + "to \(formatFixed(Double(bounds.upperBound), decimals: 2)) (Esc keeps "
                    + "\(formatFixed(Double(s.truncation), decimals: 2)))"
                return (s, .redraw)
            }
            s.input = nil
            if psi != s.truncation {
                s.pushUndo()
                s.truncation = psi
            }
            s.status = "ψ \(formatFixed(Double(psi), decimals: 2)) for new z0 draws (r)"
            return (s, .redraw)
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
