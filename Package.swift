// swift-tools-version: 6.0
// latent-tui: explore the latent space of image GANs from a terminal.
//
// Targets follow ../shared/DESIGN.md, bottom to top:
//   CBLAS, CPNG, CGIF, CNcurses  system libraries (Debian: libopenblas-dev, libpng-dev,
//                                libgif-dev, libncursesw5-dev) behind small shim headers
//   Tensors   float32 tensors, reverse-mode autodiff (higher order), optimizers
//   NN        layers, Sequential from a spec, safetensors checkpoints, .npy
//   Imaging   PNG (libpng simplified API), GIF, grids, tensor <-> RGB8
//   latent-tui  the command line; latent-bench  benchmarks (release build)
import PackageDescription

// Release builds drop exclusivity checks in the numeric kernels: they are
// measurable in tight loops and the kernels never alias mutable buffers.
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "latent-tui",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "latent-tui", targets: ["latent-tui"]),
        .library(name: "Tensors", targets: ["Tensors"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CGIF", path: "Sources/CGIF"),
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),

        .target(name: "Tensors", dependencies: ["CBLAS"], swiftSettings: kernelSettings),
        .target(name: "NN", dependencies: ["Tensors"], swiftSettings: kernelSettings),
        .target(name: "Imaging", dependencies: ["Tensors", "CPNG", "CGIF"], swiftSettings: kernelSettings),
        .target(name: "GAN", dependencies: ["NN", "Imaging"], swiftSettings: kernelSettings),
        .target(name: "Latent", dependencies: ["NN", "Imaging"], swiftSettings: kernelSettings),
        .target(name: "TUI", dependencies: ["Latent", "GAN", "CNcurses"], swiftSettings: kernelSettings),

        .executableTarget(
            name: "latent-tui",
            dependencies: [
                "Tensors", "NN", "Imaging", "GAN", "Latent", "TUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "latent-bench", dependencies: ["Tensors", "NN", "GAN", "Latent", "TUI"],
                          swiftSettings: kernelSettings),

        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"]),
        .testTarget(name: "GANTests", dependencies: ["GAN", "TestSupport"]),
        .testTarget(name: "LatentTests", dependencies: ["Latent", "GAN", "TestSupport"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "GAN", "TestSupport"]),
    ]
)
