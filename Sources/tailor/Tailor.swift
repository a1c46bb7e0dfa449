import ArgumentParser

@main
struct Tailor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailor",
        abstract: "Fine-tune Llama-family language models (LoRA, full) on the CPU or an NVIDIA GPU, with Hugging Face files.",
        version: "0.1.0",
        subcommands: [TrainCommand.self, LaunchCommand.self, DownloadCommand.self, PlanCommand.self, GenerateCommand.self, ChatCommand.self, ServeCommand.self, EvalCommand.self, MergeCommand.self, DataCommand.self, ImportCommand.self, ExportCommand.self, SweepCommand.self, RunsCommand.self, BoardCommand.self, BenchCommand.self, SelfTestCommand.self, DoctorCommand.self]
    )
}
