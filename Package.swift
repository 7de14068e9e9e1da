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
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // System libraries from Debian (see Makefile `deps`).
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Linux calls the Glibc module does not export (syncfs).
        .systemLibrary(name: "CLinux"),

        // CRC-32, shared by PNG chunk checks and weights files.
        .target(name: "NacreChecksums"),
        // Atomic, durable whole-file writes (temp file, fsync, rename, fsync of the folder).
        .target(name: "NacreFiles", dependencies: ["CLinux"]),
        // Pixels, PNG in and out, quality metrics.
        .target(name: "NacreImage", dependencies: ["CPNG", "NacreChecksums"]),
        // oneDNN tensors, layers with backward passes, optimizer.
        .target(name: "NacreEngine", dependencies: ["CDNNL", "CLinux", "NacreChecksums", "NacreFiles", .product(name: "Logging", package: "swift-log")]),
        // The learned codec: model, entropy coding, training.
        .target(name: "NacreCodec", dependencies: ["NacreEngine", "NacreImage", .product(name: "Logging", package: "swift-log")]),
        // The .nacre container format (zstd frames).
        .target(name: "NacreArchive", dependencies: ["CZstd", "CCrypto"]),
        // The daemon: config, spool watcher, control socket, sd_notify, service; the ingest pipeline
        // (Pipeline/) and the collection commands (Commands/) on top of the store and catalog.
        .target(name: "NacreDaemon", dependencies: [
            "NacreStore", "NacreCatalog", "NacreArchive", "NacreCodec", "NacreImage", "NacreEngine", "NacreFiles", "CLinux",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // The SQLite catalog: models, archives, images, ingest state, training runs, events.
        .target(name: "NacreCatalog", dependencies: [.product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")]),

        // Operations on a collection of archives: pack an image, restore it, index archives.
        // The shipped base model is its resource (BaseModel).
        .target(name: "NacreStore", dependencies: ["NacreImage", "NacreEngine", "NacreCodec", "NacreArchive", "NacreCatalog"],
                resources: [.copy("Resources/base.nxcm"), .copy("Resources/base.nxdn")]),

        .testTarget(name: "NacreImageTests", dependencies: ["NacreImage"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NacreArchiveTests", dependencies: ["NacreArchive"], exclude: ["Fuzz"], resources: [.copy("Fixtures")]),

        .executableTarget(
            name: "nacre",
            dependencies: [
                "NacreImage", "NacreFiles", "NacreEngine", "NacreCodec", "NacreArchive", "NacreDaemon", "NacreCatalog", "NacreStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "NacreDaemonTests", dependencies: ["NacreDaemon", "CLinux", "NacreTestSupport", "NacreStore", "NacreCatalog", "NacreArchive", "NacreCodec", "NacreImage", "NacreEngine"]),
        .testTarget(name: "NacreCLITests", dependencies: ["NacreTestSupport", "NacreArchive", "NacreCatalog", "NacreCodec", "NacreEngine", "NacreImage"]),
        // Test-only helpers (finding and running the built executable); no product uses it.
        .target(name: "NacreTestSupport"),

        .testTarget(name: "NacreEngineTests", dependencies: ["NacreEngine", "NacreChecksums"], exclude: ["Fixtures"]),
        .testTarget(name: "NacreCatalogTests", dependencies: ["NacreCatalog", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "NacreCodecTests", dependencies: ["NacreCodec", "NacreEngine", "NacreImage", "NacreTestSupport"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
