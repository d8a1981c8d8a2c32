import GAN
import Imaging
import Latent
import NN
import Tensors

/// What the app must do after the session took an action.
public enum SessionCommand: Sendable {
    /// Nothing visible changed.
    case none
    /// Draw the model again (status, help, text field changed).
    case draw
    /// Hand `request` to the worker; draw when its result arrives.
    case render(FrameRequest)
    /// Hand `job` to the worker; its status line comes back with `.show`.
    case write(WriteJob)
    case saveLabel(LabelJob)
    /// Restore the terminal and exit 0.
    case quit
}

/// The main-thread half of the browser: the state, the view model, z0, and
/// the bookkeeping that turns `reduce`'s effects into work for the worker
/// (`FrameRequest`, `WriteJob`) and the worker's results into a model to
/// draw. It touches neither the terminal nor the generator, so the
/// benchmark and the tests drive it exactly as the app does.
public final class BrowserSession {
    public let context: BrowserContext
    public private(set) var state: BrowserState
    public private(set) var model: BrowserViewModel
    /// Sets the filmstrip's width; the app updates it on resize.
    public private(set) var screenSize: TerminalSize
    /// The generation of the newest request; results of older ones are stale.
    public private(set) var generation = 0
    /// The generation whose result the model shows.
    public private(set) var shownGeneration = 0

    /// [1, d]
    public private(set) var z0: Tensor
    /// Bumped with every new z0, so frames cached for the old one are not reused.
    private var originID = 0
    private var originOf: [BrowserState.Origin: Int] = [:]
    /// z drawn through rejection sampling per seed and ψ: the sampler's D̃_M can
    /// rise between draws, so undo and redo reuse the z instead of redrawing.
    private var rejectionDraws: [RejectionKey: Tensor] = [:]
    private struct RejectionKey: Hashable { let seed: UInt64, truncation: Float }
    /// Rejection samplers for ψ ≠ 1, made on first use: each proposes truncated draws, so
    /// the image shown is the one the critic accepted.
    private var truncatedSamplers: [Float: RejectionSampler] = [:]
    /// The state the shown frames belong to: text-only redraws use it so
    /// the walk's labels never run ahead of its pictures.
    private var renderedState: BrowserState?
    /// Drift at each step walked so far on the current walk, oldest first.
    private var driftKey: WalkKey?
    private var driftSteps: [Int] = []
    private var drift: [Double] = []
    private let driftLimit = 512

    public init(context: BrowserContext, state: BrowserState, screenSize: TerminalSize) {
        self.context = context
        self.state = state
        self.screenSize = screenSize
        model = BrowserViewModel(header: context.header)
        z0 = Tensor.zeros([1, context.latentDimension])
        z0 = latent(for: state.origin)
        originOf[state.origin] = originID
        model.update(from: state, scores: context.methods[state.methodIndex].scores)
    }

    /// The layout the current screen size gives.
    public var layout: BrowserLayout { BrowserLayout(size: screenSize, imageAspect: model.imageAspect) }

    /// A result is on its way for the newest state.
    public var renderPending: Bool { shownGeneration < generation }

    /// Applies an action: `reduce`, then what its effect needs.
    public func send(_ action: Action) -> SessionCommand {
        let (next, effect) = reduce(state, action)
        state = next
        switch effect {
        case .none:
            return .none
        case .redraw:
            syncModel()
            return .draw
        case .render:
            return .render(makeRequest())
        case .newOrigin:
            z0 = latent(for: state.origin)
            if state.origin.rejection, let sampler = rejectionSampler(truncation: state.origin.truncation) {
                state.status += String(format: ", %.0f%% of proposals accepted so far", 100 * sampler.acceptanceRate)
            }
            if let known = originOf[state.origin] {
                originID = known
            } else {
                originID += 1
                originOf[state.origin] = originID
            }
            return .render(makeRequest())
        case .write(let output):
            guard let job = makeWriteJob(output) else {
                return send(.show("no direction to walk"))
            }
            return .write(job)
        case let .saveLabel(method, direction, label):
            syncModel()
            return .saveLabel(LabelJob(method: method, direction: direction, label: label))
        case .quit:
            return .quit
        }
    }

    /// Records a new screen size; returns a request when the filmstrip now
    /// shows different steps (more or fewer frames fit).
    public func resize(to size: TerminalSize) -> FrameRequest? {
        let before = filmstripSteps
        screenSize = size
        syncModel()
        return filmstripSteps == before ? nil : makeRequest()
    }

    /// The steps the filmstrip shows now (none while the screen is too small).
    private var filmstripSteps: [Int] {
        let layout = self.layout
        return layout.fits ? layout.filmstripSteps(around: state.step) : []
    }

    /// The request for the frames the current state shows.
    public func makeRequest() -> FrameRequest {
        generation += 1
        let method = currentMethod
        let direction = min(max(state.direction, 0), method.k - 1)
        let key = WalkKey(originID: originID, method: method.name, direction: direction, mode: state.mode,
                          stride: state.stride)
        return FrameRequest(generation: generation, key: key, z0: z0, direction: method.direction(direction),
                            layer: method.layer, stride: state.stride, step: state.step,
                            filmstripSteps: filmstripSteps,
                            compareModes: state.comparing ? state.availableModes : [])
    }

    /// Takes a worker result. Returns true when the model changed (draw);
    /// results of requests that a newer one replaced are dropped.
    @discardableResult
    public func apply(_ result: FrameResult) -> Bool {
        guard result.generation == generation else { return false }
        shownGeneration = result.generation
        renderedState = state
        model.update(from: state, scores: currentMethod.scores)
        model.origin = result.origin
        model.current = result.current?.image
        model.filmstrip = result.filmstrip.map { .init(step: $0.step, image: $0.image) }
        if let current = result.current {
            model.readouts = Self.viewReadouts(current.readouts)
            recordDrift(current.readouts, key: result.key, step: result.step)
        } else {
            model.readouts = .init()
        }
        model.drift = drift
        if state.comparing {
            var notes: [WalkMode: String] = [:]
            if !context.hasCorrection {
                notes[.density] = "no corrector C in this file: run latent-tui discover "
                    + "\(context.header.fileName) --method dplase"
            }
            model.comparison = .init(linear: result.comparison[.linear], norm: result.comparison[.norm],
                                     density: result.comparison[.density], notes: notes)
        }
        if let error = result.error {
            state = reduce(state, .show(error)).0
            model.status = state.status
        }
        return true
    }

    /// The worker finished a write (or failed): its line goes to the status bar.
    public func show(_ message: String) -> SessionCommand { send(.show(message)) }

    // MARK: -

    private var currentMethod: BrowserContext.MethodInfo {
        context.methods[min(max(state.methodIndex, 0), context.methods.count - 1)]
    }

    /// Copies the state into the model for a redraw without new frames.
    /// While a render is pending, the walk's position stays as the shown
    /// frames have it; only status, text field, help, labels and the play
    /// marker follow the state.
    private func syncModel() {
        var shown = state
        if renderPending, let rendered = renderedState {
            shown = rendered
            shown.status = state.status
            shown.input = state.input
            shown.showingHelp = state.showingHelp
            shown.playing = state.playing
            shown.methods = state.methods
        }
        let scores = context.methods[min(max(shown.methodIndex, 0), context.methods.count - 1)].scores
        model.update(from: shown, scores: scores)
    }

    /// z0 for an origin: the prior draw with its seed, scaled by ψ (the same z as
    /// `sample --seed S --truncation ψ`), or the first draw rejection sampling
    /// accepts from truncated proposals (as `sample --drs`); or the user's z.
    private func latent(for origin: BrowserState.Origin) -> Tensor {
        guard let seed = origin.seed else {
            return context.userOrigin?.z0 ?? Tensor.zeros([1, context.latentDimension])
        }
        if origin.rejection, let drawn = rejectionDraw(RejectionKey(seed: seed, truncation: origin.truncation)) {
            return drawn
        }
        var rng = RandomGenerator(seed: seed)
        return withoutGrad {
            context.prior.sample(1, dimension: context.latentDimension, truncation: origin.truncation, using: &rng)
        }
    }

    /// The z rejection sampling accepts first from `seed`'s stream (nil
    /// without a sampler, or when it gives up).
    private func rejectionDraw(_ key: RejectionKey) -> Tensor? {
        if let known = rejectionDraws[key] { return known }
        guard let sampler = rejectionSampler(truncation: key.truncation) else { return nil }
        var rng = RandomGenerator(seed: key.seed)
        guard let drawn = try? sampler.draw(1, using: &rng, batchSize: 16).latents else { return nil }
        rejectionDraws[key] = drawn
        return drawn
    }

    /// The file's sampler (ψ 1), or one with the same settings proposing draws truncated by ψ.
    private func rejectionSampler(truncation psi: Float) -> RejectionSampler? {
        guard let base = context.rejectionSampler else { return nil }
        if psi == base.truncation { return base }
        if let known = truncatedSamplers[psi] { return known }
        let made = try? base.truncated(psi)
        truncatedSamplers[psi] = made
        return made
    }

    private func makeWriteJob(_ output: Output) -> WriteJob? {
        let method = currentMethod
        guard method.k > 0 else { return nil }
        let direction = min(max(state.direction, 0), method.k - 1)
        let source: LatentSource
        if let seed = state.origin.seed {
            source = state.origin.truncation == 1 && !state.origin.rejection ? .seed(seed) : .vector(z0)
        } else if let user = context.userOrigin {
            source = .file(path: user.path, row: user.row)
        } else {
            source = .vector(z0)
        }
        // `e` and `g` cover the current step and at least the playback range.
        let steps = max(abs(state.step), state.limits.playSteps)
        return WriteJob(output: output,
                        key: WalkKey(originID: originID, method: method.name, direction: direction, mode: state.mode,
                                     stride: state.stride),
                        z0: z0, source: source, seed: state.origin.seed, truncation: state.origin.truncation,
                        direction: method.direction(direction), stride: state.stride, step: state.step, steps: steps)
    }

    /// Appends the current frame's drift when the walk reached a new step;
    /// a different walk (z0, direction, mode, stride) starts a new history.
    /// The learned density's drift when the file has F, else the prior's.
    private func recordDrift(_ readouts: Readouts, key: WalkKey, step: Int) {
        if key != driftKey {
            driftKey = key
            driftSteps = []
            drift = []
        }
        guard driftSteps.last != step else { return }
        let value = readouts.learnedLogDensityDrift ?? readouts.priorLogDensityDrift
        driftSteps.append(step)
        drift.append(value.map(Double.init) ?? .nan)
        if drift.count > driftLimit {
            drift.removeFirst(drift.count - driftLimit)
            driftSteps.removeFirst(driftSteps.count - driftLimit)
        }
    }

    /// The Latent library's readouts as the view shows them. A PSNR of
    /// 100 dB or more shows as ∞: the frames differ only by float rounding
    /// (batched GEMMs), far below one 8-bit level (≈ 59 dB).
    static func viewReadouts(_ r: Readouts) -> BrowserViewModel.Readouts {
        .init(priorLogDensity: r.priorLogDensity.map(Double.init), priorDrift: r.priorLogDensityDrift.map(Double.init),
              outsideCount: r.coordinatesOutside, learnedLogDensity: r.learnedLogDensity.map(Double.init),
              learnedDrift: r.learnedLogDensityDrift.map(Double.init), featureChange: Double(r.featureChange),
              imageChange: Double(r.imageChange), psnr: r.psnr.map { $0 >= 100 ? .infinity : Double($0) } ?? .infinity,
              pathLength: Double(r.pathLength), norm: Double(r.latentNorm))
    }
}
