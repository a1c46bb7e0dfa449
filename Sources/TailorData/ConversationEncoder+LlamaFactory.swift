import TailorTokenizers

extension ConversationEncoder {
    /// `enable_thinking` as the template variables give it (LLaMA-Factory's default: true).
    var enableThinking: Bool {
        switch options.templateVariables["enable_thinking"] {
        case .bool(let value)?: return value
        case .string(let text)?: return text.lowercased() != "false"
        default: return true
        }
    }

    func llamaFactoryPieces(_ conversation: Conversation, _ template: LlamaFactoryTemplate) throws -> [LlamaFactoryTemplate.Pieces] {
        func special(_ token: String?) -> (String, Int32)? {
            guard let token, let id = tokenizer.tokenToId(token), let narrow = Int32(exactly: id) else { return nil }
            return (token, narrow)
        }
        return try template.pieces(conversation, bos: special(bosToken), eos: special(eosToken),
                                   enableThinking: enableThinking, maskHistory: options.maskHistory)
    }

    /// The ids of slot pieces: each text tokenized on its own, special tokens as their ids.
    func llamaFactoryIds(_ pieces: [LlamaFactoryTemplate.Pieces.Piece], _ workspace: TokenizerWorkspace?) -> [Int32] {
        pieces.flatMap { piece -> [Int32] in
            switch piece {
            case .text(let text): return text.isEmpty ? [] : tokenize(text, workspace)
            case .token(let id, _): return id.map { [$0] } ?? []
            }
        }
    }

    /// Ids and labels as LLaMA-Factory's supervised stage makes them: every text slot tokenized on
    /// its own, prompts masked (unless `train_on_inputs`), replies trained.
    func encodeLlamaFactory(_ conversation: Conversation, _ template: LlamaFactoryTemplate,
                            workspace: TokenizerWorkspace?) throws -> EncodedSample {
        let turns = try llamaFactoryPieces(conversation, template)
        func ids(_ pieces: [LlamaFactoryTemplate.Pieces.Piece]) -> [Int32] { llamaFactoryIds(pieces, workspace) }
        var inputIds: [Int32] = [], labels: [Int32] = []
        for (index, turn) in turns.enumerated() {
            let prompt = ids(turn.prompt), reply = ids(turn.reply)
            inputIds += prompt + reply
            labels += options.trainOnInputs ? prompt : Array(repeating: EncodedSample.ignoreIndex, count: prompt.count)
            let trained = options.trainOnInputs
                || trains(message: turn.replyIndex, of: conversation, isLastReply: index == turns.count - 1)
            labels += trained ? reply : Array(repeating: EncodedSample.ignoreIndex, count: reply.count)
        }
        return EncodedSample(inputIds: inputIds, labels: labels, source: conversation.source)
    }

    /// The text LLaMA-Factory's slots make (special tokens as their strings) and the byte spans trained.
    func renderLlamaFactory(_ conversation: Conversation, _ template: LlamaFactoryTemplate) throws -> Rendered {
        let turns = try llamaFactoryPieces(conversation, template)
        var text = "", spans: [Range<Int>] = []
        func append(_ pieces: [LlamaFactoryTemplate.Pieces.Piece]) {
            for piece in pieces {
                switch piece {
                case .text(let s): text += s
                case .token(_, let s): text += s
                }
            }
        }
        for (index, turn) in turns.enumerated() {
            append(turn.prompt)
            let start = text.utf8.count
            append(turn.reply)
            if trains(message: turn.replyIndex, of: conversation, isLastReply: index == turns.count - 1) {
                spans.append(start..<text.utf8.count)
            }
        }
        return Rendered(text: text, spans: spans)
    }
}
