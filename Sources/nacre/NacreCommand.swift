import ArgumentParser

/// The `nacre` command line: offline archive tools, training, benchmarks and the daemon.
@main
struct NacreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nacre",
        abstract: "Learned-image archiver: packs images into shared-decoder archives and restores them.",
        version: NacreVersion.string,
        subcommands: [LsCommand.self, VerifyCommand.self, ReindexCommand.self, TrainCommand.self, TrainDenoiserCommand.self, BenchCommand.self,
                      PackCommand.self, UnpackCommand.self, ExportModelCommand.self, GateCommand.self, EncodeCommand.self, DecodeCommand.self, DebugDecodeCommand.self,
                      DaemonCommand.self, CtlCommand.self]
    )
}

/// The program's version, printed by `nacre --version` and recorded in archives it writes.
enum NacreVersion {
    static let string = "0.1.0-dev"
}
