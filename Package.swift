// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top (see DESIGN.md and docs/architecture.md): CBLAS, CIntrinsics, CCUDA, CMPI, CZlib, TailorJSON -> TailorTensor
// -> TailorCUDA -> TailorFormats -> TailorTokenizers -> TailorModels -> TailorData -> TailorAdapters -> TailorTraining | TailorInference
// -> TailorServer -> tailor, and TailorExport (GGUF export) beside them -> tailor. TailorServer (the OpenAI-compatible HTTP server,
// on Hummingbird) stands on TailorInference and never imports TailorTraining. TailorJSON (the one JSON value, reader and writer)
// depends on nothing; every layer that reads JSON uses it.
// TailorTraining, TailorInference and TailorExport stand side by side on TailorAdapters: none imports another.
// TailorMetrics (BLEU, ROUGE, jieba, exact/contains: pure functions of text) depends on nothing, so the trainer,
// inference and the CLI all use the one copy. TailorDigest (SHA-256) depends on nothing: the tokenizers' GGUF hashes and
// the hub client share it. TailorHub (the Hugging Face hub client and huggingface_hub's cache layout) stands on TailorJSON
// and TailorDigest only, on Foundation's URLSession; the CLI resolves every `--model` hub id through it.
// A lower layer never imports a higher one, and every target lists exactly the modules its files import.
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
        .library(name: "TailorAdapters", targets: ["TailorAdapters"]),
        .library(name: "TailorTraining", targets: ["TailorTraining"]),
        .library(name: "TailorInference", targets: ["TailorInference"]),
        .library(name: "TailorServer", targets: ["TailorServer"]),
        .library(name: "TailorMetrics", targets: ["TailorMetrics"]),
        .library(name: "TailorExport", targets: ["TailorExport"]),
        .library(name: "TailorHub", targets: ["TailorHub"]),
        .library(name: "TailorBoard", targets: ["TailorBoard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // Hummingbird's own NIO: TailorServer watches a request's connection for its client going away.
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
    ],
    targets: [
        // OpenBLAS, loaded with dlopen at run time so the binary starts where it is absent.
        .target(name: "CBLAS", path: "Sources/CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // zlib (Debian zlib1g-dev): deflate for PNG files.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Compiler intrinsics (a prefetch hint) as static inline C for the Swift kernels.
        .target(name: "CIntrinsics", path: "Sources/CIntrinsics"),
        // The one JSON value: ordered, byte-exact, with file/line/column errors; no dependencies.
        .target(name: "TailorJSON"),
        // Text metrics as their peers compute them (sacrebleu, rouge-score, LLaMA-Factory's bleu-4/rouge, jieba); no dependencies.
        .target(name: "TailorMetrics"),
        // SHA-256, fed in pieces; no dependencies.
        .target(name: "TailorDigest"),
        // The Hugging Face hub's HTTP protocol and huggingface_hub's cache (blobs, refs, snapshots, locks), on URLSession.
        .target(name: "TailorHub", dependencies: ["TailorJSON", "TailorDigest"]),
        .target(name: "TailorTensor", dependencies: ["CBLAS", "CIntrinsics"]),
        // NVRTC, the CUDA driver and cuBLAS, loaded with dlopen: builds and runs without CUDA.
        .target(name: "CCUDA", path: "Sources/CCUDA", linkerSettings: [.linkedLibrary("dl")]),
        // The CUDA backend: CUDA C kernel sources compiled at run time by NVRTC, products by cuBLAS.
        .target(name: "TailorCUDA", dependencies: ["TailorTensor", "CCUDA"]),
        .target(name: "TailorFormats", dependencies: ["TailorJSON", "TailorTensor", "CZlib"]),
        .target(name: "TailorTokenizers", dependencies: ["TailorJSON", "TailorDigest"]),
        .target(name: "TailorModels", dependencies: ["TailorJSON", "TailorTensor", "TailorFormats", "TailorTokenizers"]),
        .target(name: "TailorData", dependencies: ["TailorJSON", "TailorTokenizers"]),
        // LoRA and adapter sets, reading / writing peft folders, merge: shared by training and inference.
        .target(name: "TailorAdapters", dependencies: ["TailorJSON", "TailorTensor", "TailorFormats", "TailorModels"]),
        // Open MPI's libmpi, loaded with dlopen: data-parallel training across processes; builds and runs without it.
        .target(name: "CMPI", path: "Sources/CMPI", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "TailorTraining",
                dependencies: ["TailorJSON", "TailorTensor", "TailorFormats", "TailorModels", "TailorTokenizers", "TailorData", "TailorAdapters",
                               "TailorMetrics", "CMPI"]),
        .target(name: "TailorInference",
                dependencies: ["TailorJSON", "TailorTensor", "TailorFormats", "TailorModels", "TailorTokenizers", "TailorData", "TailorAdapters",
                               "TailorMetrics"]),
        // `tailor serve`: OpenAI-compatible HTTP endpoints, the request queue and scheduler, on Hummingbird; Web/ is the chat page.
        .target(name: "TailorServer",
                dependencies: ["TailorJSON", "TailorModels", "TailorTokenizers", "TailorInference",
                               .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio")],
                resources: [.copy("Web")]),
        // Model files for other programs (llama.cpp's GGUF), written from a model folder with adapters merged on the fly.
        // tailor board: the runs table and curves in the browser; stands on the trainer's run reading.
        .target(name: "TailorBoard", dependencies: ["TailorJSON", "TailorTraining", .product(name: "Hummingbird", package: "hummingbird")]),
        .target(name: "TailorExport", dependencies: ["TailorJSON", "TailorTensor", "TailorFormats", "TailorTokenizers", "TailorModels", "TailorAdapters"]),
        .executableTarget(
            name: "tailor",
            dependencies: [
                "TailorJSON", "TailorTensor", "TailorCUDA", "TailorFormats", "TailorModels", "TailorTokenizers", "TailorData",
                "TailorAdapters", "TailorTraining", "TailorInference", "TailorServer", "TailorMetrics", "TailorExport", "TailorHub", "TailorBoard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(name: "TailorTestSupport", dependencies: ["TailorTensor"], path: "Tests/TailorTestSupport"),
        .target(name: "TailorTrainingTestSupport",
                dependencies: ["TailorTensor", "TailorFormats", "TailorModels", "TailorAdapters", "TailorTraining", "TailorTestSupport"],
                path: "Tests/TailorTrainingTestSupport"),
        // A local stand-in for the hub (Hummingbird on 127.0.0.1) with the real hub's headers and an LFS redirect; the
        // tests start it in-process, scripts/peers/hub_cache.sh runs it as the MockHub executable for huggingface_hub.
        .target(name: "TailorHubTestSupport", dependencies: ["TailorDigest", .product(name: "Hummingbird", package: "hummingbird")],
                path: "Tests/TailorHubTestSupport"),
        .executableTarget(name: "MockHub", dependencies: ["TailorHubTestSupport"], path: "Tests/MockHub"),
        .testTarget(name: "TailorJSONTests", dependencies: ["TailorJSON"]),
        .testTarget(name: "TailorDigestTests", dependencies: ["TailorDigest"]),
        .testTarget(name: "TailorHubTests", dependencies: ["TailorDigest", "TailorHub", "TailorHubTestSupport", "TailorTestSupport"]),
        .testTarget(name: "TailorMetricsTests", dependencies: ["TailorMetrics", "TailorTestSupport"]),
        .testTarget(name: "TailorTensorTests", dependencies: ["TailorTensor", "TailorTestSupport"]),
        .testTarget(name: "TailorFormatsTests", dependencies: ["CZlib", "TailorTensor", "TailorFormats", "TailorTestSupport"]),
        .testTarget(name: "TailorModelsTests", dependencies: ["TailorTensor", "TailorFormats", "TailorModels", "TailorTestSupport"]),
        .testTarget(name: "TailorTokenizersTests", dependencies: ["TailorFormats", "TailorTokenizers", "TailorTestSupport"]),
        .testTarget(name: "TailorDataTests", dependencies: ["TailorTokenizers", "TailorData", "TailorTestSupport"]),
        .testTarget(name: "TailorAdaptersTests",
                    dependencies: ["TailorTensor", "TailorFormats", "TailorModels", "TailorAdapters", "TailorTestSupport"]),
        .testTarget(name: "TailorTrainingTests",
                    dependencies: ["TailorJSON", "TailorTensor", "TailorFormats", "TailorModels", "TailorData", "TailorAdapters", "TailorTraining",
                                   "TailorTestSupport", "TailorTrainingTestSupport"]),
        .testTarget(name: "TailorInferenceTests",
                    dependencies: ["TailorTensor", "TailorFormats", "TailorModels", "TailorTokenizers", "TailorData", "TailorAdapters", "TailorInference",
                                   "TailorMetrics", "TailorTestSupport"]),
        .testTarget(name: "TailorServerTests",
                    dependencies: ["TailorJSON", "TailorTensor", "TailorTokenizers", "TailorInference", "TailorServer", "TailorTestSupport"]),
        .testTarget(name: "TailorBoardTests", dependencies: ["TailorBoard", "TailorTraining", "TailorTestSupport",
                                                          .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "TailorExportTests",
                    dependencies: ["TailorTensor", "TailorFormats", "TailorTokenizers", "TailorModels", "TailorAdapters", "TailorExport",
                                   "TailorTestSupport"]),
        .testTarget(name: "tailorTests",
                    dependencies: ["TailorTensor", "TailorModels", "TailorData", "TailorAdapters", "TailorTraining", "TailorHub", "TailorMetrics", "tailor",
                                   "TailorTestSupport", "TailorHubTestSupport",
                                   .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "TailorCUDATests",
                    dependencies: ["TailorTensor", "TailorCUDA", "TailorModels", "TailorAdapters", "TailorTraining", "TailorInference",
                                   "TailorTestSupport", "TailorTrainingTestSupport"]),
    ]
)
