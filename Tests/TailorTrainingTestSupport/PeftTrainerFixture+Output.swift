import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import XCTest

extension PeftTrainerFixture {
    /// Where a reference test writes Tailor's adapter folder for case `name`: TAILOR_KEEP_OUTPUT/<name>,
    /// kept for a scripts/peers check, or a new temporary folder (`kept` false: the caller removes it).
    public static func outputFolder(case name: String) -> (url: URL, kept: Bool) {
        if let root = ProcessInfo.processInfo.environment["TAILOR_KEEP_OUTPUT"] {
            return (URL(fileURLWithPath: root).appendingPathComponent(name), true)
        }
        return (FileManager.default.temporaryDirectory.appendingPathComponent("tailor-\(name)-\(UUID().uuidString)"), false)
    }

    /// Checks that Tailor's folder `written` holds the keys and shapes of peft's weights file
    /// `peft`, and, when the folder is kept for a peer check, writes `logits` [T, vocab] (what Tailor
    /// computed with the adapter) beside it as tailor_logits.safetensors.
    public static func assertFolderMatchesPeft(_ written: (url: URL, kept: Bool), peft: SafetensorsFile, logits: [Float], vocab: Int,
                                               label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        if written.kept {
            try SafetensorsWriter.write([SafetensorsWriter.Tensor(name: "logits", shape: [logits.count / vocab, vocab], floats: logits)],
                                        metadata: [:], to: written.url.appendingPathComponent("tailor_logits.safetensors"))
        }
        let writtenFile = try SafetensorsFile(url: written.url.appendingPathComponent(PeftAdapterLayout.weightsFile))
        XCTAssertEqual(Set(writtenFile.tensorNames), Set(peft.tensorNames), "\(label): keys of Tailor's adapter_model.safetensors",
                       file: file, line: line)
        for name in peft.tensorNames {
            XCTAssertEqual(writtenFile.info(name)?.shape, peft.info(name)?.shape, "\(label): shape of \(name)", file: file, line: line)
        }
    }
}
