import TailorJSON
import TailorServer
import TailorTokenizers
import XCTest

/// Request bodies as OpenAI and vLLM spell them, read into `OpenAIRequest`.
final class OpenAIRequestTests: XCTestCase {
    func parse(_ body: JSONValue, chat: Bool = true) throws -> OpenAIRequest {
        try OpenAIRequest(body: body.bytes(.compact), chat: chat)
    }

    func testToolsAndToolChoiceReachTheTemplate() throws {
        let tool: JSONValue = ["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]
        let request = try parse(["model": "m", "messages": [["role": "user", "content": "weather?"]], "tools": [tool], "tool_choice": "auto",
                                 "chat_template_kwargs": ["enable_thinking": false]])
        guard case let .chat(messages, tools) = request.input else { return XCTFail("not a chat") }
        XCTAssertEqual(messages.map(\.role), ["user"])
        XCTAssertEqual(tools, [ChatValue(tool)])
        XCTAssertEqual(request.templateVariables["tool_choice"], .string("auto"))
        XCTAssertEqual(request.templateVariables["enable_thinking"], .bool(false))
    }

    func testSamplingFieldsAndTheirLimits() throws {
        let request = try parse(["model": "m", "messages": [["role": "user", "content": "x"]], "temperature": 0.5, "top_p": 0.9, "top_k": 40,
                                 "min_p": 0.1, "repetition_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": -0.5,
                                 "stop": ["a", "b"], "seed": 42, "n": 2, "logprobs": true, "top_logprobs": 3, "max_completion_tokens": 9,
                                 "stream": true, "stream_options": ["include_usage": true]])
        XCTAssertEqual(request.temperature, 0.5)
        XCTAssertEqual(request.topK, 40)
        XCTAssertEqual(request.stop, ["a", "b"])
        XCTAssertEqual(request.seed, 42)
        XCTAssertEqual(request.n, 2)
        XCTAssertEqual(request.logprobs, 3)
        XCTAssertEqual(request.maxTokens, 9)
        XCTAssertTrue(request.stream && request.includeUsage)
        let completion = try parse(["model": "m", "prompt": [1, 2, 3], "logprobs": 2, "stop": "x", "echo": true], chat: false)
        guard case let .completion(prompts) = completion.input else { return XCTFail("not a completion") }
        XCTAssertEqual(prompts, [.tokens([1, 2, 3])])
        XCTAssertEqual(completion.logprobs, 2)
        XCTAssertEqual(completion.stop, ["x"])
        func refused(_ body: JSONValue, _ status: Int, chat: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try parse(body, chat: chat), file: file, line: line) { error in
                XCTAssertEqual((error as? ServerError)?.status, status, "\(error)", file: file, line: line)
            }
        }
        let messages: JSONValue = [["role": "user", "content": "x"]]
        refused(["model": "m", "messages": messages, "n": 17], 400)
        refused(["model": "m", "messages": messages, "top_p": 0], 400)
        refused(["model": "m", "messages": messages, "max_tokens": 0], 400)
        refused(["model": "m", "messages": messages, "max_tokens": .bigInteger("100000000000000000000000")], 400)
        refused(["model": "m", "messages": messages, "stop": [""]], 400)
        refused(["model": "m", "messages": messages, "stop": 3], 422)
        refused(["model": "m", "messages": [], "max_tokens": 3], 400)
        refused(["model": "m", "messages": [["role": "user", "content": [["type": "image_url", "image_url": "x"]]]]], 400)
        refused(["model": "m", "prompt": []], 400, chat: false)
        refused(["model": "m", "prompt": [1, "a"]], 422, chat: false)
        refused(["model": "m", "messages": messages, "stream": "yes"], 422)
    }
}
