// swift-tools-version:6.0
// vrapl — virtual RAPL. One module per role, in data-path order (docs/architecture.md draws the graph):
// C system libraries → core → sources → trace store → configs → dataset → NN engine → model file →
// training / evaluation / attribution / guest → benchmarks and command-line types → executables.
import PackageDescription

let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "vrapl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vrapl", targets: ["vrapl"]),
        .executable(name: "vrapl-guest", targets: ["vrapl-guest"]),
        .executable(name: "vrapl-collect", targets: ["vrapl-collect"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries behind thin shims.
        // HDF5 is linked statically (Sources/CHDF5/module.modulemap says why), so not through pkg-config.
        .systemLibrary(name: "CHDF5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // The batched guest's sampling tick in C (include/tick_loop.h says why).
        .target(name: "CTickLoop"),

        // Library modules, in data-path order.
        .target(name: "VraplCore", swiftSettings: v5),
        .target(name: "VraplSources", dependencies: ["VraplCore"], swiftSettings: v5),
        .target(name: "VraplTrace", dependencies: ["VraplCore", "CHDF5"], swiftSettings: v5),
        .target(name: "VraplCollect", dependencies: ["VraplCore", "VraplSources", "VraplTrace"], swiftSettings: v5),
        .target(name: "VraplCampaign", dependencies: ["VraplCore", "VraplSources", "VraplTrace", "VraplConfigFile"], swiftSettings: v5),
        .target(name: "VraplSim", dependencies: ["VraplCore", "VraplSources", "VraplTrace", "VraplCampaign", "VraplConfigFile"], swiftSettings: v5),
        .target(name: "VraplConfigFile", dependencies: ["VraplCore", "Yams"], swiftSettings: v5),
        .target(name: "VraplDataset", dependencies: ["VraplCore", "VraplTrace"], swiftSettings: v5),
        .target(name: "VraplNN", dependencies: ["VraplCore", "COpenBLAS"], swiftSettings: v5),
        .target(name: "VraplReport", dependencies: ["VraplCore"], swiftSettings: v5),
        .target(name: "VraplModel", dependencies: ["VraplCore", "VraplNN", "VraplDataset"], swiftSettings: v5),
        .target(name: "VraplTraining", dependencies: ["VraplCore", "VraplNN", "VraplDataset", "VraplModel", "VraplReport", "VraplConfigFile"], swiftSettings: v5),
        .target(name: "VraplAttribution", dependencies: ["VraplCore", "VraplSources", "VraplTrace", "VraplConfigFile", "Yams"], swiftSettings: v5),
        .target(name: "VraplEval", dependencies: ["VraplCore", "VraplTrace", "VraplDataset", "VraplModel", "VraplTraining", "VraplReport"], swiftSettings: v5),
        .target(name: "VraplGuest", dependencies: ["CTickLoop", "VraplCore", "VraplSources", "VraplTrace", "VraplDataset", "VraplNN", "VraplModel", "VraplAttribution"], swiftSettings: v5),

        // Benchmarks behind `vrapl bench` (no library module carries its own).
        .target(name: "VraplBench", dependencies: ["VraplCore", "VraplSources", "VraplNN", "VraplDataset", "VraplModel", "VraplGuest"], swiftSettings: v5),

        // Argument types shared by the three front ends (no Foundation: vrapl-collect links it).
        .target(name: "VraplCommandLine", dependencies: [
            "VraplCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),

        // Executables: thin front ends.
        .executableTarget(name: "vrapl", dependencies: [
            "VraplCore", "VraplSources", "VraplTrace", "VraplSim", "VraplCampaign", "VraplDataset",
            "VraplNN", "VraplModel", "VraplTraining", "VraplAttribution", "VraplEval", "VraplGuest", "VraplCommandLine", "VraplBench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),
        .executableTarget(name: "vrapl-guest", dependencies: [
            "VraplCore", "VraplGuest", "VraplCommandLine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),
        .executableTarget(name: "vrapl-collect", dependencies: [
            "VraplCore", "VraplCollect", "VraplCommandLine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "collector", swiftSettings: v5),

        // Tests mirror the source layout. Fixture trees live under Tests/Fixtures; what every test
        // target needs (scratch directories, child processes) is in Tests/VraplTestSupport.
        .target(name: "VraplTestSupport", dependencies: ["VraplCore"], path: "Tests/VraplTestSupport", swiftSettings: v5),
        .testTarget(name: "VraplCoreTests", dependencies: ["VraplTestSupport", "VraplCore"], swiftSettings: v5),
        .testTarget(name: "VraplReportTests", dependencies: ["VraplReport", "VraplCore"], swiftSettings: v5),
        .testTarget(name: "VraplSourcesTests", dependencies: ["VraplTestSupport", "VraplSources", "VraplCore"], swiftSettings: v5),
        .testTarget(name: "VraplTraceTests", dependencies: ["VraplTestSupport", "VraplTrace", "VraplCore"], swiftSettings: v5),
        .testTarget(name: "VraplCollectTests", dependencies: ["VraplTestSupport", "VraplCollect", "VraplSources", "VraplTrace", "VraplCore"], swiftSettings: v5),
        .testTarget(name: "VraplCampaignTests", dependencies: ["VraplTestSupport", "VraplCampaign", "VraplCore", "VraplTrace"], swiftSettings: v5),
        .testTarget(name: "VraplSimTests", dependencies: ["VraplTestSupport", "VraplSim", "VraplCampaign", "VraplSources", "VraplTrace", "VraplCore"], swiftSettings: v5),
        .testTarget(name: "VraplDatasetTests", dependencies: ["VraplTestSupport", "VraplDataset", "VraplCore", "VraplTrace"], swiftSettings: v5),
        .testTarget(name: "VraplNNTests", dependencies: ["VraplNN", "VraplCore"], swiftSettings: v5),
        .testTarget(name: "VraplTrainingTests", dependencies: ["VraplTestSupport", "VraplTraining", "VraplModel", "VraplCore", "VraplDataset", "VraplNN", "VraplTrace"], swiftSettings: v5),
        .testTarget(name: "VraplModelTests", dependencies: ["VraplTestSupport", "VraplModel", "VraplCore", "VraplDataset", "VraplNN"], swiftSettings: v5),
        .testTarget(name: "VraplAttributionTests", dependencies: ["VraplTestSupport", "VraplAttribution", "VraplSources", "VraplCore", "VraplTrace"], swiftSettings: v5),
        .testTarget(name: "VraplEvalTests", dependencies: ["VraplTestSupport", "VraplEval", "VraplSim", "VraplCampaign", "VraplCore", "VraplDataset", "VraplModel", "VraplNN", "VraplTrace"], swiftSettings: v5),
        .testTarget(name: "VraplGuestTests", dependencies: ["VraplTestSupport", "VraplGuest", "VraplAttribution", "VraplCore", "VraplDataset", "VraplModel", "VraplNN", "VraplSources", "VraplTrace"], swiftSettings: v5),
    ]
)
