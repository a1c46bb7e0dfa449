import Foundation
import TailorFormats
import TailorModels
import TailorTestSupport

/// A fixture case a scripts/reference script wrote for an adapter method: its folder (reference.safetensors,
/// data.safetensors, peft's saved folders) and the tiny model family it trained.
public protocol AdapterFixtureCase {
    var folder: URL { get }
    var family: String { get }
}

extension AdapterFixtureCase {
    public var modelFolder: URL { TestPaths.fixture("models/\(family)") }

    public func reference() throws -> SafetensorsFile { try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors")) }

    /// The adapter weights peft saved in the case's subfolder `sub`.
    public func file(_ sub: String) throws -> SafetensorsFile {
        try SafetensorsFile(url: folder.appendingPathComponent(sub).appendingPathComponent(PeftAdapterLayout.weightsFile))
    }

    /// The first sample, unlabelled.
    public func firstSample() throws -> TokenBatch {
        let data = try SafetensorsFile(url: folder.appendingPathComponent("data.safetensors"))
        let ids = try data.floats("input_ids").prefix(Int(try data.floats("lengths")[0])).map { Int32($0) }  // allowed: fixture token ids and lengths, small whole numbers
        return try TokenBatch(sequences: [(ids, [Int32](repeating: -100, count: ids.count))])
    }
}
