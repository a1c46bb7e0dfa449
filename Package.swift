// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top (see DESIGN.md): CBLAS, CIntrinsics, CCUDA, TailorJSON -> TailorTensor -> TailorCUDA -> TailorFormats
// -> TailorModels -> TailorTokenizers -> TailorData -> TailorTraining -> TailorInference -> tailor. A lower layer never imports
// a higher one. TailorJSON (the one JSON value, reader and writer) depends on nothing; every layer that reads JSON uses it.
let package = Package(
    name: "Tailor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tailor", targets: ["tailor"]),
        .library(name: "TailorJSON", targets: ["TailorJSON"]),
        .library(name: "TailorTensor", targets: ["TailorTensor"]),
        .library(name: "TailorFormats", targets: ["TailorFormats"]),
        .library(name: "TailorModels", targets: ["TailorModels"]),
        .library(name: "TailorTokenizers", targets: ["TailorTokenizers"]),
        .library(name: "TailorData", targets: ["TailorData"]),
        .library(name: "TailorTraining", targets: ["TailorTraining"]),
        .library(name: "TailorInference", targets: ["TailorInference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // OpenBLAS, loaded with dlopen at run time so the binary starts where it is absent.
        .target(name: "CBLAS", path: "Sources/CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // zlib (Debian zlib1g-dev): deflate for PNG files.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Compiler intrinsics (a prefetch hint) as static inline C for the Swift kernels.
        .target(name: "CIntrinsics", path: "Sources/CIntrinsics"),
        // The one JSON value: ordered, byte-exact, file/line/column errors; Python's json.dumps layouts.
        .target(name: "TailorJSON"),
        .target(name: "TailorTensor", dependencies: ["CBLAS", "CIntrinsics"]),
        // NVRTC, the CUDA driver and cuBLAS, loaded with dlopen: builds and runs without CUDA.
        .target(name: "CCUDA", path: "Sources/CCUDA", linkerSettings: [.linkedLibrary("dl")]),
        // The CUDA backend: CUDA C kernel sources compiled at run time by NVRTC, products by cuBLAS.
        .target(name: "TailorCUDA", dependencies: ["TailorTensor", "CCUDA"]),
        .target(name: "TailorFormats", dependencies: ["TailorJSON", "TailorTensor", "CZlib"]),
        .target(name: "TailorModels", dependencies: ["TailorJSON", "TailorTensor", "TailorFormats"]),
        .target(name: "TailorTokenizers", dependencies: ["TailorJSON"]),
        .target(name: "TailorData", dependencies: ["TailorJSON", "TailorTokenizers"]),
        .target(name: "TailorTraining", dependencies: ["TailorJSON", "TailorTensor", "TailorFormats", "TailorModels", "TailorData"]),
        .target(name: "TailorInference", dependencies: ["TailorJSON", "TailorTensor", "TailorModels", "TailorTokenizers", "TailorTraining"]),
        .executableTarget(
            name: "tailor",
            dependencies: [
                "TailorJSON", "TailorTensor", "TailorCUDA", "TailorFormats", "TailorModels", "TailorTokenizers", "TailorData", "TailorTraining", "TailorInference",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(name: "TailorTestSupport", dependencies: ["TailorTensor"], path: "Tests/TailorTestSupport"),
        .target(name: "TailorTrainingTestSupport", dependencies: ["TailorTraining", "TailorFormats", "TailorTestSupport"],
                path: "Tests/TailorTrainingTestSupport"),
        .testTarget(name: "TailorJSONTests", dependencies: ["TailorJSON"]),
        .testTarget(name: "TailorTensorTests", dependencies: ["TailorTensor", "TailorTestSupport"]),
        .testTarget(name: "TailorFormatsTests", dependencies: ["TailorFormats", "TailorTestSupport"]),
        .testTarget(name: "TailorModelsTests", dependencies: ["TailorModels", "TailorTestSupport"]),
        .testTarget(name: "TailorTokenizersTests", dependencies: ["TailorTokenizers", "TailorFormats", "TailorTestSupport"]),
        .testTarget(name: "TailorDataTests", dependencies: ["TailorData", "TailorTestSupport"]),
        .testTarget(name: "TailorTrainingTests", dependencies: ["TailorTraining", "TailorTestSupport", "TailorTrainingTestSupport"]),
        .testTarget(name: "TailorInferenceTests", dependencies: ["TailorInference", "TailorFormats", "TailorTokenizers", "TailorTestSupport"]),
        .testTarget(name: "tailorTests", dependencies: ["tailor"]),
        .testTarget(name: "TailorCUDATests", dependencies: ["TailorCUDA", "TailorInference", "TailorTestSupport", "TailorTrainingTestSupport"]),
    ]
)
