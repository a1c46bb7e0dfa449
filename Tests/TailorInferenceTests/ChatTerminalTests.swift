#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TailorInference
import TailorTensor
import TailorTestSupport
import TailorTokenizers
import XCTest

/// Drives the built `tailor chat` through a pseudo-terminal, as a person would: a question, the
/// streamed answer, /reset, a second question, /exit — on the chat-llama fixture model.
final class ChatTerminalTests: XCTestCase {
    /// What the chat should answer: the library's greedy answer for `messages`.
    func expectedAnswer(_ messages: [ChatMessage], tokens: Int) throws -> String {
        let loaded = try InferenceModel(folder: GenerationFixtures.chatModel, backend: try CPUBackend())
        var p = loaded.defaults
        p.doSample = false
        p.maxNewTokens = tokens
        return try loaded.generator.generate(prompts: [try loaded.chatPrompt(messages)], parameters: p)[0].text
    }

    func testChatInATerminal() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        var master: Int32 = -1, slave: Int32 = -1
        guard openpty(&master, &slave, nil, nil, nil) == 0 else { throw XCTSkip("no pseudo-terminal available") }
        defer { close(master) }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["chat", "--model", GenerationFixtures.chatModel.path, "--greedy", "--max-new-tokens", "12"]
        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        process.standardInput = terminal
        process.standardOutput = terminal
        process.standardError = terminal
        try process.run()
        close(slave)

        var screen = ""
        /// Reads until `marker` appears after `from` (or the timeout).
        func read(until marker: String, after from: String.Index? = nil, timeout: Double = 60) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline {
                if let start = from ?? screen.startIndex as String.Index?, screen[start...].contains(marker) { return true }
                var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 200) > 0 else { continue }
                let count = Glibc.read(master, &buffer, buffer.count)
                if count <= 0 { break }
                screen += String(decoding: buffer[0..<count], as: UTF8.self)
            }
            return screen[(from ?? screen.startIndex)...].contains(marker)
        }
        func send(_ line: String) -> String.Index {
            let mark = screen.endIndex
            _ = line.utf8CString.withUnsafeBufferPointer { Glibc.write(master, $0.baseAddress, line.utf8.count) }
            _ = Glibc.write(master, "\n", 1)
            return mark
        }

        XCTAssertTrue(read(until: "> "), "no prompt; screen: \(screen)")
        let first = try expectedAnswer([ChatMessage(role: "user", content: "What is Tailor?")], tokens: 12)
        XCTAssertFalse(first.isEmpty)
        var mark = send("What is Tailor?")
        XCTAssertTrue(read(until: first, after: mark), "first answer '\(first)' not on screen: \(screen)")
        XCTAssertTrue(read(until: "\n> ", after: mark))
        mark = send("/reset")
        XCTAssertTrue(read(until: "(conversation cleared)", after: mark), screen)
        // A bad /params value (seed=-1 once trapped in UInt64(_:)) is an error line; the session goes on.
        mark = send("/params seed=-1")
        XCTAssertTrue(read(until: "error: generation parameter 'seed' = -1 must be an integer from 0 to", after: mark), screen)
        XCTAssertTrue(read(until: "\n> ", after: mark), screen)
        // After /reset the second question is answered without the first turn.
        let second = try expectedAnswer([ChatMessage(role: "user", content: "And now?")], tokens: 12)
        mark = send("And now?")
        XCTAssertTrue(read(until: second, after: mark), "second answer '\(second)' not on screen: \(screen)")
        XCTAssertTrue(read(until: "\n> ", after: mark))
        _ = send("/exit")
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(process.isRunning)
        if process.isRunning { process.terminate() } else { XCTAssertEqual(process.terminationStatus, 0) }
    }
}
