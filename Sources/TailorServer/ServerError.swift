import TailorJSON

/// Errors of the server layer, each answered to the client as an OpenAI error object
/// (`{"error": {"message", "type", "param", "code"}}`) with its HTTP status, and each saying
/// what to change.
public enum ServerError: Error, CustomStringConvertible, Equatable {
    /// The body is not valid JSON (400).
    case malformedJSON(String)
    /// A field has the wrong JSON type, or a required one is missing (422, as FastAPI-based servers answer).
    case wrongType(param: String, expected: String, got: String)
    /// A field's value is out of range or contradicts another (400).
    case invalidValue(param: String, problem: String)
    /// The prompt (with max_tokens) does not fit the context (400, OpenAI's `context_length_exceeded`).
    case contextLengthExceeded(promptTokens: Int, maxTokens: Int?, context: Int)
    /// No base model or adapter has this name (404, `model_not_found`).
    case unknownModel(String, available: [String])
    /// No such route (404).
    case notFound(method: String, path: String)
    /// The Authorization header is missing or holds another key (401).
    case unauthorized
    /// The body is larger than the limit (413).
    case bodyTooLarge(limit: Int)
    /// The queue of waiting requests is full (429).
    case queueFull(limit: Int)
    /// The server is shutting down or cannot take requests (503).
    case unavailable(String)
    /// Runtime adapter loading is off, or a name or path is refused (400 / 403-like, answered 400).
    case adapterRefused(String)
    /// Generation failed inside the model (500).
    case internalError(String)
    /// The client closed its connection before the answer was ready; its rows left the batch (499, nginx's
    /// "client closed request": nobody reads it).
    case clientClosed

    /// The HTTP status answered.
    public var status: Int {
        switch self {
        case .malformedJSON, .invalidValue, .contextLengthExceeded, .adapterRefused: return 400
        case .wrongType: return 422
        case .unknownModel, .notFound: return 404
        case .unauthorized: return 401
        case .bodyTooLarge: return 413
        case .queueFull: return 429
        case .unavailable: return 503
        case .internalError: return 500
        case .clientClosed: return 499
        }
    }

    /// OpenAI's error `type`.
    public var type: String {
        switch self {
        case .unauthorized: return "authentication_error"
        case .unknownModel, .notFound: return "not_found_error"
        case .queueFull: return "rate_limit_error"
        case .unavailable: return "service_unavailable"
        case .internalError: return "internal_server_error"
        case .clientClosed: return "client_closed_request"
        default: return "invalid_request_error"
        }
    }

    /// The request field at fault, when one is.
    public var param: String? {
        switch self {
        case let .wrongType(param, _, _), let .invalidValue(param, _): return param
        case .contextLengthExceeded: return "messages"
        case .unknownModel: return "model"
        default: return nil
        }
    }

    /// OpenAI's error `code`, when it has one.
    public var code: String? {
        switch self {
        case .contextLengthExceeded: return "context_length_exceeded"
        case .unknownModel: return "model_not_found"
        case .unauthorized: return "invalid_api_key"
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .malformedJSON(detail):
            return "the request body is not valid JSON: \(detail)"
        case let .wrongType(param, expected, got):
            return got == "missing" ? "'\(param)' is required (\(expected))" : "'\(param)' must be \(expected), not \(got)"
        case let .invalidValue(param, problem):
            return "'\(param)' \(problem)"
        case let .contextLengthExceeded(prompt, maxTokens, context):
            if let maxTokens {
                return "this model's maximum context length is \(context) tokens; the prompt has \(prompt) tokens and max_tokens asks for \(maxTokens) more (\(prompt + maxTokens) in all); shorten the prompt or lower max_tokens to at most \(max(0, context - prompt))"
            }
            return "this model's maximum context length is \(context) tokens and the prompt has \(prompt), leaving no room for an answer; shorten the prompt"
        case let .unknownModel(name, available):
            return "the model '\(name)' does not exist; this server has: \(available.joined(separator: ", "))"
        case let .notFound(method, path):
            return "no route \(method) \(path); see GET /v1/models, POST /v1/chat/completions, POST /v1/completions"
        case .unauthorized:
            return "missing or wrong API key: send 'Authorization: Bearer <key>' with the key given to --api-key"
        case let .bodyTooLarge(limit):
            return "the request body is larger than \(limit) bytes; send less (the limit is --max-body-bytes)"
        case let .queueFull(limit):
            return "the server is busy: \(limit) requests are already waiting (--max-queue); retry later"
        case let .unavailable(why):
            return "the server cannot take requests: \(why)"
        case let .adapterRefused(why):
            return why
        case let .internalError(why):
            return "generation failed: \(why)"
        case .clientClosed:
            return "the client closed the connection before the answer was ready; the request was cancelled"
        }
    }

    /// The error object OpenAI clients parse.
    public var json: JSONValue {
        var error: JSONObject = ["message": .string(description), "type": .string(type)]
        error["param"] = param.map(JSONValue.string) ?? .null
        error["code"] = code.map(JSONValue.string) ?? .null
        return ["error": .object(error)]
    }
}
