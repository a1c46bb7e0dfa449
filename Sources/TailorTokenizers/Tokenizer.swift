import Foundation
import TailorJSON

/// A tokenizer built from a Hugging Face `tokenizer.json`, producing the ids the `tokenizers` library produces.
///
/// The pipeline mirrors the file's stages: added tokens are cut out of the raw text, the rest is normalized
/// (`normalizer`), normalized added tokens are cut out, the rest is split into words (`pre_tokenizer`),
/// each word becomes ids (`model`, BPE), and `post_processor` adds BOS/EOS when asked. `decode` runs `decoder`.
///
/// A `Tokenizer` is immutable after loading and safe to use from several threads at once.
public final class Tokenizer: @unchecked Sendable {
    public let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: TokenDecoder?
    /// tokenizer.json's `added_tokens`, in file order.
    public let addedTokens: [AddedToken]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    let addedById: [Int: AddedToken]
    let addedByContent: [ByteKey: Int]
    let specialContents: Set<ByteKey>
    /// Ids of the added tokens marked `special`.
    public let specialTokenIds: Set<Int>
    private let sharedCache = WordCache()

    static let supportedModels = ["BPE"]

    /// Loads `tokenizer.json`.
    /// - Throws: `TokenizerError` naming the file and the field when the file is unreadable, not JSON,
    ///   or uses a component Tailor does not implement.
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.fileNotReadable(file: url.path, reason: error.localizedDescription)
        }
        try self.init(json: [UInt8](data), file: url.path)
    }

    /// Builds a tokenizer from the bytes of a tokenizer.json; `file` names it in errors.
    public init(json bytes: [UInt8], file: String = "tokenizer.json") throws {
        let root = JSONNode(try JSONValue.parse(bytes, file: file), file: file)
        let modelNode = try root.required("model")
        let modelType = try modelNode.optionalString("type") ?? (try modelNode.optional("merges") != nil ? "BPE" : "?")
        guard modelType == "BPE" else {
            throw TokenizerError.unknownComponent(file: file, path: "model", type: modelType, supported: Tokenizer.supportedModels)
        }
        model = try BPEModel(modelNode)
        normalizer = try root.optional("normalizer").flatMap { try NormalizerFactory.make($0) }
        preTokenizer = try root.optional("pre_tokenizer").flatMap { try PreTokenizerFactory.make($0) }
        postProcessor = try root.optional("post_processor").flatMap { try PostProcessorFactory.make($0) }
        decoder = try root.optional("decoder").flatMap { try DecoderFactory.make($0) }

        let added = try root.optional("added_tokens")?.elements.map { try AddedToken($0) } ?? []
        addedTokens = added
        var byId: [Int: AddedToken] = [:], byContent: [ByteKey: Int] = [:]
        for t in added { byId[t.id] = t; byContent[ByteKey(t.content)] = t.id }
        addedById = byId
        addedByContent = byContent
        specialContents = Set(added.filter(\.special).map { ByteKey($0.content) })
        specialTokenIds = Set(added.filter(\.special).map(\.id))
        rawMatcher = AddedTokenMatcher(added.filter { !$0.normalized }.map { .init(pattern: Array($0.content.utf8), token: $0) })
        let normalizer = self.normalizer
        normalizedMatcher = AddedTokenMatcher(added.filter(\.normalized).map {
            .init(pattern: Array((normalizer?.normalize($0.content) ?? $0.content).utf8), token: $0)
        })
    }

    // MARK: Lookups

    /// Number of ids: the model's vocabulary plus added tokens that are not in it.
    public var vocabularySize: Int {
        model.vocabularySize + addedTokens.filter { model.tokenToId($0.content) == nil }.count
    }

    /// The id of a token's text (added tokens first, then the model's vocabulary).
    public func tokenToId(_ token: String) -> Int? {
        addedByContent[ByteKey(token)] ?? model.tokenToId(token)
    }

    /// The text of a token id, as stored in the vocabulary (byte-level tokens keep their stand-in characters).
    public func idToToken(_ id: Int) -> String? {
        addedById[id]?.content ?? model.idToTokenString(id)
    }

    public func isSpecial(_ id: Int) -> Bool { specialTokenIds.contains(id) }

    // MARK: Encoding

    /// The ids of `text`; with `addSpecialTokens`, the post-processor's BOS/EOS are added.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        encodeInt32(text, addSpecialTokens: addSpecialTokens).map(Int.init)  // allowed: an Int32 id widens
    }

    /// `encode` returning 32-bit ids (what training batches hold).
    public func encodeInt32(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        if sharedCache.lock.try() {
            defer { sharedCache.lock.unlock() }
            return encode(text, addSpecialTokens: addSpecialTokens, cache: &sharedCache.words)
        }
        var local: [ByteKey: [Int32]] = [:]
        return encode(text, addSpecialTokens: addSpecialTokens, cache: &local)
    }

    /// Encodes many texts in parallel (one cache per worker); results are in input order.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true) -> [[Int32]] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, texts.count))
        let results = ResultSlots<[Int32]>(count: texts.count)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var cache: [ByteKey: [Int32]] = [:]
            var k = w
            while k < texts.count {
                results.set(k, encode(texts[k], addSpecialTokens: addSpecialTokens, cache: &cache))
                k += workers
            }
        }
        return results.values
    }

    /// Words remembered per cache; beyond this the cache stops growing (as in `tokenizers`).
    static let cacheCapacity = 10_000

    func encode(_ text: String, addSpecialTokens: Bool, cache: inout [ByteKey: [Int32]]) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        var rawParts: [(piece: Piece, id: Int32?)] = []
        rawMatcher.split(Piece(bytes: Array(text.utf8), atStart: true), into: &rawParts)
        var parts: [(piece: Piece, id: Int32?)] = []
        for part in rawParts {
            if part.id != nil { parts.append(part); continue }
            var p = part.piece
            if let normalizer {
                p.bytes = Array(normalizer.normalize(String(decoding: p.bytes, as: UTF8.self)).utf8)
            }
            if p.bytes.isEmpty { continue }
            normalizedMatcher.split(p, into: &parts)
        }
        for part in parts {
            if let id = part.id { ids.append(id); continue }
            let words = preTokenizer?.preTokenize([part.piece]) ?? [part.piece]
            for w in words where !w.bytes.isEmpty {
                let key = ByteKey(w.bytes)
                if let hit = cache[key] { ids += hit; continue }
                let start = ids.count
                model.tokenize(w.bytes, into: &ids)
                if cache.count < Tokenizer.cacheCapacity { cache[key] = Array(ids[start...]) }
            }
        }
        if addSpecialTokens, let postProcessor { return postProcessor.process(ids) }
        return ids
    }

    // MARK: Decoding

    /// The text of `ids`. With `skipSpecialTokens`, special added tokens are left out.
    /// Ids outside the vocabulary are ignored.
    public func decode<C: Collection>(_ ids: C, skipSpecialTokens: Bool = false) -> String where C.Element: BinaryInteger {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for raw in ids {
            let id = Int(truncatingIfNeeded: raw)
            guard let t = idToToken(id) else { continue }
            if skipSpecialTokens && specialContents.contains(ByteKey(t)) { continue }
            tokens.append(t)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// A decoder that takes ids one at a time (generation) and hands back text only when whole
    /// characters are available.
    public func streamingDecoder(skipSpecialTokens: Bool = false) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, skipSpecialTokens: skipSpecialTokens)
    }

    /// Pre-tokenization of `text` (after normalization, without added-token handling), for inspection.
    public func preTokenize(_ text: String) -> [String] {
        let normalized = normalizer?.normalize(text) ?? text
        return preTokenizer?.preTokenize(normalized) ?? [normalized]
    }
}

/// The shared word -> ids cache of one tokenizer.
final class WordCache: @unchecked Sendable {
    let lock = NSLock()
    var words: [ByteKey: [Int32]] = [:]
}

/// Write-once slots filled from concurrent workers (each index written by exactly one worker).
final class ResultSlots<T>: @unchecked Sendable {
    private var storage: [T?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { storage.withUnsafeMutableBufferPointer { $0[i] = value } }
    var values: [T] { storage.map { $0! } }
}
