// swift-tools-version:6.1
import PackageDescription

// One target per pipeline stage: image I/O → engine → codec → archive → catalog → daemon → CLI.
let package = Package(
    name: "Nacre",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nacre", targets: ["nacre"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // System libraries from Debian (see Makefile `deps`).
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // Pixels, PNG in and out, quality metrics.
        .target(name: "NacreImage", dependencies: ["CPNG"]),
        // oneDNN tensors, layers with backward passes, optimizer.
        .target(name: "NacreEngine", dependencies: ["CDNNL", .product(name: "Logging", package: "swift-log")]),
        // The learned codec: model, entropy coding, training.
        .target(name: "NacreCodec", dependencies: ["NacreEngine", "NacreImage", .product(name: "Logging", package: "swift-log")]),
        // The .nacre container format (zstd frames).
        .target(name: "NacreArchive", dependencies: ["CZstd"]),
        .testTarget(name: "NacreArchiveTests", dependencies: ["NacreArchive"], exclude: ["Fuzz"], resources: [.copy("Fixtures")]),

        .executableTarget(
            name: "nacre",
            dependencies: [
                "NacreImage", "NacreEngine", "NacreCodec", "NacreArchive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

    ],
    swiftLanguageModes: [.v6]
)
