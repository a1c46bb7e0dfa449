import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// group_by_length (train_sampling_strategy="group_by_length"): transformers' LengthGroupedSampler
/// over Tailor's seeded permutation; tested by its properties, since torch's randperm differs.
final class DataOrderTests: XCTestCase {
    /// Given the same permutation, the order equals transformers' get_length_grouped_indices
    /// index for index (ties included).
    func testLengthGroupingEqualsTransformersForAGivenPermutation() throws {
        let data = try Data(contentsOf: TestPaths.fixture("optim/length_grouped.json"))
        let cases = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        XCTAssertEqual(cases.count, 4)
        for item in cases {
            let lengths = try XCTUnwrap(item["lengths"] as? [Int]), permutation = try XCTUnwrap(item["permutation"] as? [Int])
            let batch = try XCTUnwrap(item["batch_size"] as? Int)
            XCTAssertEqual(DataOrder.lengthGrouped(permutation: permutation, lengths: lengths, batchSize: batch),
                           try XCTUnwrap(item["order"] as? [Int]), "\(lengths.count) rows, batch \(batch)")
        }
    }

    func testLengthGroupingFollowsTransformersStructure() {
        var rng = SeededRandom(seed: 4)
        for (count, batch) in [(1003, 4), (37, 2), (5, 8), (400, 2)] {
            let lengths = rng.ints(count, in: 1..<300).map(Int.init)
            let permutation = DataOrder.permutation(count: count, seed: 7, epoch: 0)
            let multiplier = DataOrder.megaBatchMultiplier(count: count, batchSize: batch)
            XCTAssertEqual(multiplier, max(1, min(count / (batch * 4), 50)))
            let megaBatch = multiplier * batch
            let order = DataOrder.lengthGrouped(permutation: permutation, lengths: lengths, batchSize: batch)
            XCTAssertEqual(order.sorted(), Array(0..<count), "every row once (\(count) rows)")
            XCTAssertEqual(lengths[order[0]], lengths.max(), "longest first (\(count) rows)")
            // Each mega-batch holds the rows its slice of the permutation drew (up to the one swapped head),
            // sorted by length descending after its head.
            var sources: [Int] = []
            for start in stride(from: 0, to: count, by: megaBatch) {
                let members = Array(order[start..<min(start + megaBatch, count)])
                let drawn = Set(permutation[start..<min(start + megaBatch, count)])
                XCTAssertGreaterThanOrEqual(Set(members).intersection(drawn).count, members.count - 1, "mega-batch at \(start)")
                if !drawn.contains(members[0]) { sources.append(start) }
                let tail = members.dropFirst().map { lengths[$0] }
                XCTAssertEqual(tail, tail.sorted(by: >), "mega-batch at \(start) sorted, longest first")
                XCTAssertGreaterThanOrEqual(lengths[members[0]], tail.first ?? 0, "each mega-batch starts with its longest")
            }
            XCTAssertLessThanOrEqual(sources.count, 2, "only the first mega-batch and the longest one's swap heads")
        }
        XCTAssertEqual(DataOrder.megaBatchMultiplier(count: 100_000, batchSize: 8), 50, "50 × batch for large data")
    }

    func testTiesKeepThePermutedOrderAndTheFirstLongestWins() {
        let lengths = [3, 9, 9, 1, 9, 2]
        XCTAssertEqual(DataOrder.lengthGrouped(permutation: [5, 4, 3, 2, 1, 0], lengths: lengths, batchSize: 6), [4, 2, 1, 0, 5, 3],
                       "one mega-batch: a stable sort, longest first")
        XCTAssertEqual(DataOrder.lengthGrouped(permutation: [0, 3, 5, 1, 2, 4], lengths: lengths, batchSize: 2), [1, 3, 0, 5, 2, 4],
                       "mega-batches of 2: the first one holding a longest row swaps its head to the front")
    }

    func makeTrainer(sampling: TrainingArguments.Sampling, seed: UInt64 = 5, batch: Int = 2, ga: Int = 2) throws -> Trainer {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend(kernels: .reference))
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 2, targetModules: .names(["q_proj"])))
        var rng = SeededRandom(seed: 8)
        let samples = (0..<90).map { i -> TrainingSample in
            let ids = rng.ints(3 + (i * 7) % 23, in: 3..<96)
            return TrainingSample(ids: ids, labels: ids)
        }
        var args = TrainingArguments()
        args.sampling = sampling
        args.seed = seed
        args.perDeviceTrainBatchSize = batch
        args.gradientAccumulationSteps = ga
        return try Trainer(model: model, trainable: .lora(adapters), train: samples, args: args)
    }

    func testTrainerOrdersRowsByLengthPerEpoch() throws {
        let trainer = try makeTrainer(sampling: .groupByLength)
        let lengths = trainer.trainRows.map(\.tokenCount)
        let epoch0 = trainer.order(epoch: 0), epoch1 = trainer.order(epoch: 1)
        for order in [epoch0, epoch1] {
            XCTAssertEqual(order.sorted(), Array(0..<90), "every row once per epoch")
            XCTAssertEqual(lengths[order[0]], lengths.max(), "the first micro-batch holds the longest row")
        }
        XCTAssertNotEqual(epoch0, epoch1, "a new permutation each epoch")
        XCTAssertEqual(try makeTrainer(sampling: .groupByLength).order(epoch: 1), epoch1, "reproducible from the seed")
        XCTAssertNotEqual(try makeTrainer(sampling: .groupByLength, seed: 6).order(epoch: 0), epoch0, "the seed matters")
        // 90 rows, batch 2 × GA 2: mega-batches of min(90 / 16, 50) = 5 × 4 = 20 rows over the epoch's permutation.
        let permutation = DataOrder.permutation(count: 90, seed: 5, epoch: 0)
        XCTAssertEqual(epoch0, DataOrder.lengthGrouped(permutation: permutation, lengths: lengths, batchSize: 4))
        XCTAssertEqual(try makeTrainer(sampling: .random).order(epoch: 0), permutation, "the same permutation without grouping")
        XCTAssertEqual(try makeTrainer(sampling: .sequential).order(epoch: 0), Array(0..<90))
        let sorted = epoch0[1..<20].map { lengths[$0] }
        XCTAssertEqual(sorted, sorted.sorted(by: >))
    }
}
