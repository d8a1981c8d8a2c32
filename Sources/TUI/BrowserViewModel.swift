import Imaging
import Latent

/// Everything one frame of the browser shows, as plain data the app fills
/// from the state and the Latent library's results. `draw` only reads it,
/// so a screen is a function of this value.
public struct BrowserViewModel: Sendable {
    /// The header line: what is being browsed.
    public struct Header: Equatable, Sendable {
        public var fileName: String
        public var imageWidth: Int
        public var imageHeight: Int
        /// "gaussian" or "uniform".
        public var prior: String
        public var latentDim: Int
        public var method: String
        public var k: Int

        public init(fileName: String, imageWidth: Int, imageHeight: Int, prior: String, latentDim: Int,
                    method: String = "", k: Int = 0) {
            (self.fileName, self.imageWidth, self.imageHeight) = (fileName, imageWidth, imageHeight)
            (self.prior, self.latentDim, self.method, self.k) = (prior, latentDim, method, k)
        }
    }

    /// One line of the directions list.
    public struct DirectionRow: Equatable, Sendable {
        public var index: Int
        /// "" when unnamed.
        public var label: String
        /// The method's score for the direction (eigenvalue, variance…).
        public var score: Double?
        public init(index: Int, label: String, score: Double? = nil) {
            (self.index, self.label, self.score) = (index, label, score)
        }
    }

    /// A filmstrip frame: the walk at `step`.
    public struct FilmFrame: Equatable, Sendable {
        public var step: Int
        public var image: RGBImage
        public init(step: Int, image: RGBImage) { (self.step, self.image) = (step, image) }
    }

    /// DESIGN.md's readouts for the current frame, against z0; nil where the
    /// checkpoint or the computation does not provide one.
    public struct Readouts: Equatable, Sendable {
        public var priorLogDensity: Double?
        public var priorDrift: Double?
        /// Uniform prior: coordinates outside [−1, 1].
        public var outsideCount: Int?
        public var learnedLogDensity: Double?
        public var learnedDrift: Double?
        public var featureChange: Double?
        /// Mean |x − x0| with images in [0, 1].
        public var imageChange: Double?
        /// Peak 1.0; +∞ for identical images.
        public var psnr: Double?
        public var pathLength: Double?
        public var norm: Double?

        public init(priorLogDensity: Double? = nil, priorDrift: Double? = nil, outsideCount: Int? = nil,
                    learnedLogDensity: Double? = nil, learnedDrift: Double? = nil, featureChange: Double? = nil,
                    imageChange: Double? = nil, psnr: Double? = nil, pathLength: Double? = nil, norm: Double? = nil) {
            (self.priorLogDensity, self.priorDrift, self.outsideCount) = (priorLogDensity, priorDrift, outsideCount)
            (self.learnedLogDensity, self.learnedDrift) = (learnedLogDensity, learnedDrift)
            (self.featureChange, self.imageChange, self.psnr) = (featureChange, imageChange, psnr)
            (self.pathLength, self.norm) = (pathLength, norm)
        }
    }

    /// The compare view: the same step under the three walk modes.
    public struct Comparison: Equatable, Sendable {
        public var linear: RGBImage?
        public var norm: RGBImage?
        public var density: RGBImage?
        /// Why a mode has no frame (e.g. no corrector C for the density walk).
        public var notes: [WalkMode: String]
        public init(linear: RGBImage? = nil, norm: RGBImage? = nil, density: RGBImage? = nil,
                    notes: [WalkMode: String] = [:]) {
            (self.linear, self.norm, self.density, self.notes) = (linear, norm, density, notes)
        }
    }

    /// The open text field.
    public struct Prompt: Equatable, Sendable {
        public var label: String
        public var text: String
        public init(label: String, text: String) { (self.label, self.text) = (label, text) }
    }

    public var header: Header
    /// z0's seed (nil: the user's z) and ψ.
    public var seed: UInt64?
    public var truncation: Float = 1
    public var origin: RGBImage?
    public var current: RGBImage?
    public var step = 0
    public var stride: Float = 0
    public var mode: WalkMode = .linear
    public var playing = false
    /// Frames around the current step (any order; drawn by step).
    public var filmstrip: [FilmFrame] = []
    public var directions: [DirectionRow] = []
    public var selectedDirection = 0
    public var readouts = Readouts()
    /// Density drift at each step walked so far, oldest first.
    public var drift: [Double] = []
    public var status = ""
    public var prompt: Prompt?
    public var showHelp = false
    /// Non-nil: show the compare view instead of z0 and the current frame.
    public var comparison: Comparison?

    public init(header: Header) { self.header = header }

    /// Width / height of the generator's images (1 when unknown).
    public var imageAspect: Double {
        header.imageWidth > 0 && header.imageHeight > 0 ? Double(header.imageWidth) / Double(header.imageHeight) : 1
    }

    /// Copies what the state decides: position, mode, selection, labels,
    /// toggles, status and text field. `scores` are the current method's
    /// direction scores (the state does not carry them). Images, readouts,
    /// filmstrip and drift stay as the app set them.
    public mutating func update(from state: BrowserState, scores: [Double]? = nil) {
        header.method = state.method?.name ?? ""
        header.k = state.directionCount
        seed = state.origin.seed
        truncation = state.origin.truncation
        (step, stride, mode, playing) = (state.step, state.stride, state.mode, state.playing)
        directions = (state.method?.labels ?? []).enumerated().map { i, label in
            DirectionRow(index: i, label: label, score: scores.flatMap { i < $0.count ? $0[i] : nil })
        }
        selectedDirection = state.direction
        status = state.status
        showHelp = state.showingHelp
        prompt = state.input.map { input in
            switch input.purpose {
            case .label: Prompt(label: "name direction \(state.direction)", text: input.text)
            case .truncation: Prompt(label: "truncation ψ for new z0", text: input.text)
            }
        }
        comparison = state.comparing ? (comparison ?? Comparison()) : nil
    }
}
