import ArgumentParser

@main
struct LatentTUI: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "latent-tui",
        abstract: "Explore the latent space of image GANs from a terminal.",
        discussion: """
        Trains generators (WGAN, WGAN-GP, BEGAN, SAN), discovers latent directions \
        (DP-LaSE, SeFa, PCA) and walks them. Checkpoints are safetensors files.
        """,
        version: version,
        subcommands: [BrowseCommand.self, InfoCommand.self, SampleCommand.self, TrainCommand.self, EvaluateCommand.self, DiscoverCommand.self, ExportCommand.self, CalibrateCommand.self, AblationCommand.self, DatasetCommand.self],
        defaultSubcommand: BrowseCommand.self)
}
