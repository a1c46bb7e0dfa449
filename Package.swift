// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top (see DESIGN.md): CBLAS -> TailorTensor -> TailorFormats -> TailorModels
// -> TailorTokenizers -> tailor. A lower layer never imports a higher one.
let package = Package(
    name: "Tailor",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tailor", targets: ["tailor"]),
        .library(name: "TailorTensor", targets: ["TailorTensor"]),
        .library(name: "TailorFormats", targets: ["TailorFormats"]),
        .library(name: "TailorModels", targets: ["TailorModels"]),
        .library(name: "TailorTokenizers", targets: ["TailorTokenizers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS, loaded with dlopen at run time so the binary starts where it is absent.
        .target(name: "CBLAS", path: "Sources/CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "TailorTensor", dependencies: ["CBLAS"]),
        .target(name: "TailorFormats", dependencies: ["TailorTensor"]),
        .target(name: "TailorModels", dependencies: ["TailorTensor", "TailorFormats"]),
        .target(name: "TailorTokenizers"),
        .executableTarget(
            name: "tailor",
            dependencies: [
                "TailorTensor", "TailorFormats", "TailorModels", "TailorTokenizers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TailorTestSupport", dependencies: ["TailorTensor"], path: "Tests/TailorTestSupport"),
        .testTarget(name: "TailorTensorTests", dependencies: ["TailorTensor", "TailorTestSupport"]),
        .testTarget(name: "TailorFormatsTests", dependencies: ["TailorFormats", "TailorTestSupport"]),
        .testTarget(name: "TailorModelsTests", dependencies: ["TailorModels", "TailorTestSupport"]),
        .testTarget(name: "TailorTokenizersTests", dependencies: ["TailorTokenizers", "TailorFormats", "TailorTestSupport"]),
    ]
)
