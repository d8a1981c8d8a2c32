/// The training objectives latent-tui implements (DESIGN.md, "Objectives").
public enum Objective: String, CaseIterable, Sendable {
    /// Wasserstein GAN with weight clipping (seed 004, Algorithm 1).
    case wgan
    /// WGAN with a gradient penalty on interpolates (seed 002).
    case wganGP = "wgan-gp"
    /// Boundary equilibrium GAN with an autoencoder critic (seed 003).
    case began
    /// Slicing adversarial network: hinge on the function part, Wasserstein on the direction (seed 004).
    case san
    /// Non-saturating softplus losses (baseline).
    case ns

    /// The prior each objective's paper uses.
    public var defaultPrior: String { self == .began ? "uniform" : "gaussian" }
}
