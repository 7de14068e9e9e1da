import ArgumentParser

/// `nacre bench`: performance measurements (not tests).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure performance of Nacre's components.",
        subcommands: [EngineBenchCommand.self, RDBenchCommand.self, CeilingBenchCommand.self, ReportCommand.self, RestoreBenchCommand.self, DenoiseBenchCommand.self]
    )
}
