/// How a walk moves from z0 along a unit direction γ with stride ε (seed 001).
public enum WalkMode: String, CaseIterable, Sendable {
    /// z = z0 + εγ (1).
    case linear
    /// z = ‖z0‖/‖z‖ · z, exact density preservation for a Gaussian prior (2).
    case norm
    /// z = z0 + εγ + C(z0, ε, γ), the DP-LaSE correction (6).
    case density

    public var title: String {
        switch self {
        case .linear: "linear"
        case .norm: "norm-preserving"
        case .density: "density-corrected"
        }
    }

    /// The next mode in the browser's `m` cycle.
    public var next: WalkMode {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}
