import Foundation
import XCTest
import TailorTestSupport
import TailorTokenizers
@testable import TailorData

final class MaskingTests: XCTestCase {
    let at = SourceLocation(file: "t.jsonl", line: 7, index: 6)

    func chat() -> Conversation {
        Conversation(messages: [
            Message(role: .user, content: "u1"), Message(role: .assistant, content: "a1"),
            Message(role: .user, content: "u2"), Message(role: .assistant, content: "a2"),
            Message(role: .user, content: "u3"), Message(role: .assistant, content: "a3"),
        ], source: at)
    }

    func encoder(_ options: EncodingOptions = EncodingOptions(), template: String = "qwen") throws -> ConversationEncoder {
        try ConversationEncoder(tokenizer: DataTestSupport.tokenizer("qwen2"), template: ChatTemplate.builtin(named: template),
                                bosToken: "<|endoftext|>", eosToken: "<|im_end|>", options: options)
    }

    func trainedTexts(_ e: ConversationEncoder, _ s: EncodedSample) -> [String] {
        ConversationEncoder.labeledRuns(s.labels).map { e.tokenizer.decode(s.inputIds[$0]) }
    }

    /// Seed 004 "method 3": labels = -100 a1 -100 a2 -100 a3.
    func testEveryAssistantTurnTrainedUserTurnsMasked() throws {
        let e = try encoder()
        let s = try e.encodeFull(chat())
        XCTAssertEqual(trainedTexts(e, s), ["a1<|im_end|>", "a2<|im_end|>", "a3<|im_end|>"])
    }

    func testMaskHistoryTrainOnInputsAndWeights() throws {
        var o = EncodingOptions(); o.maskHistory = true
        XCTAssertEqual(trainedTexts(try encoder(o), try encoder(o).encodeFull(chat())), ["a3<|im_end|>"])
        o = EncodingOptions(); o.trainOnInputs = true
        let all = try encoder(o).encodeFull(chat())
        XCTAssertEqual(all.labels, all.inputIds)
        var c = chat(); c.messages[3].train = false
        XCTAssertEqual(trainedTexts(try encoder(), try encoder().encodeFull(c)), ["a1<|im_end|>", "a3<|im_end|>"])
        // Prefix-difference masking on a template with blocks gives the same turns (plus nothing else).
        o = EncodingOptions(); o.masking = .prefixDifference
        XCTAssertEqual(trainedTexts(try encoder(o), try encoder(o).encodeFull(chat())), ["a1<|im_end|>\n", "a2<|im_end|>\n", "a3<|im_end|>"].map { $0.replacingOccurrences(of: "\n", with: "") })
    }

    /// pad == eos must not mask the EOS: padding is by position.
    func testEOSLabeledWhenPadEqualsEOS() throws {
        let e = try encoder()
        let s = try e.encodeFull(chat())
        let eos = Int32(e.tokenizer.tokenToId("<|im_end|>")!)
        XCTAssertEqual(s.labels.filter { $0 == eos }.count, 3)
        let short = try e.encodeFull(Conversation(messages: [Message(role: .user, content: "x"), Message(role: .assistant, content: "y")], source: at))
        let batch = PaddedBatch(samples: [s, short], padTokenId: eos)
        let row1 = Array(batch.labels[batch.length..<(2 * batch.length)])
        XCTAssertEqual(row1.prefix(short.count).filter { $0 == eos }.count, 1)
        XCTAssertTrue(row1.dropFirst(short.count).allSatisfy { $0 == -100 })
        XCTAssertEqual(batch.attentionMask.filter { $0 == 1 }.count, s.count + short.count)
    }

    func testFullyMaskedReportedAndRefused() throws {
        var o = EncodingOptions(); o.maskHistory = true
        let e = try encoder(o)
        var c = chat(); c.messages[5].train = false
        var issues: [DataIssue] = []
        let s = try XCTUnwrap(try e.encode(c, issues: &issues))
        XCTAssertTrue(s.isFullyMasked)
        XCTAssertEqual(issues.first?.kind, .fullyMasked)
        XCTAssertEqual(issues.first?.source, at)
        XCTAssertTrue(issues.first!.description.hasPrefix("t.jsonl:7"))
        let result = try e.encodeAll([c, c])
        XCTAssertEqual(result.fullyMasked.count, 2)
        XCTAssertThrowsError(try result.checkTrainable()) { err in
            guard case DataError.allSamplesFullyMasked(let n, let first) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(n, 2)
            XCTAssertEqual(first, at)
        }
        XCTAssertNoThrow(try e.encodeAll([chat(), c]).checkTrainable())
    }

    func testTruncationKeepsResponseOrDrops() throws {
        let long = String(repeating: "word ", count: 200)
        let c = Conversation(messages: [Message(role: .user, content: long), Message(role: .assistant, content: "short answer")], source: at)
        let full = try encoder().encodeFull(c)
        var o = EncodingOptions(maxLength: 40)
        var issues: [DataIssue] = []
        let kept = try XCTUnwrap(try encoder(o).encode(c, issues: &issues))
        XCTAssertEqual(kept.count, 40)
        XCTAssertEqual(trainedTexts(try encoder(o), kept), ["short answer<|im_end|>"])
        XCTAssertEqual(kept.truncatedTokens, full.count - 40)
        XCTAssertEqual(issues.first?.kind, .truncated)
        o.truncation = .right
        issues = []
        let right = try XCTUnwrap(try encoder(o).encode(c, issues: &issues))
        XCTAssertTrue(right.isFullyMasked)
        XCTAssertEqual(issues.map(\.kind), [.truncated, .fullyMasked])
        o.truncation = .drop
        issues = []
        XCTAssertNil(try encoder(o).encode(c, issues: &issues))
        XCTAssertEqual(issues.first?.kind, .dropped)
    }

    func testTemplateErrorNamesSampleAndSkipInvalid() throws {
        let e = try encoder(template: "llama2")
        let bad = Conversation(messages: [Message(role: .assistant, content: "a"), Message(role: .user, content: "u")], source: at)
        XCTAssertThrowsError(try e.encodeAll([chat(), bad])) { err in
            guard case DataError.template(let where_, let message) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(where_, self.at)
            XCTAssertTrue(message.contains("alternate"), message)
        }
        let r = try e.encodeAll([chat(), bad], skipInvalid: true)
        XCTAssertEqual(r.samples.count, 1)
        XCTAssertEqual(r.issues.filter { $0.kind == .skippedInvalid }.count, 1)
    }

    func testMissingStopTokenReported() throws {
        // A template whose assistant block has no end-of-turn token.
        let t = try ChatTemplate(source: "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}")
        let e = try ConversationEncoder(tokenizer: DataTestSupport.tokenizer("qwen2"), template: t, eosToken: "<|im_end|>")
        var issues: [DataIssue] = []
        _ = try e.encode(chat(), issues: &issues)
        XCTAssertEqual(issues.map(\.kind), [.noStopToken])
    }

    func testPreferencePairEncodesBoth() throws {
        let c = Conversation(messages: [Message(role: .user, content: "q"), Message(role: .assistant, content: "good")],
                             rejected: [Message(role: .assistant, content: "bad")], source: at)
        var issues: [DataIssue] = []
        let pair = try encoder().encodePreference(c, issues: &issues)
        // As TRL splits them: everything the template renders after the generation prompt is the reply.
        XCTAssertEqual(trainedTexts(try encoder(), pair.chosenSample), ["good<|im_end|>\n"])
        XCTAssertEqual(trainedTexts(try encoder(), pair.rejectedSample), ["bad<|im_end|>\n"])
        XCTAssertEqual(try encoder().tokenizer.decode(pair.prompt), "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n")
    }

    func testEncodeAllParallelMatchesSerialInOrder() throws {
        let e = try encoder()
        var convs: [Conversation] = []
        for i in 0..<300 {
            convs.append(Conversation(messages: [Message(role: .user, content: "question \(i)"),
                                                 Message(role: .assistant, content: String(repeating: "answer ", count: i % 17))],
                                      source: SourceLocation(file: "f", line: i + 1, index: i)))
        }
        let all = try e.encodeAll(convs)
        XCTAssertEqual(all.samples.count, 300)
        for i in stride(from: 0, to: 300, by: 37) { XCTAssertEqual(all.samples[i], try e.encodeFull(convs[i])) }
    }
}
