import Foundation

/// The built `nacre` executable, for tests that run the real program in a child process.
/// Test-only: no product depends on this target.
public enum NacreExecutable {
    /// Beside the test bundle (`.build/<triple>/debug/`), else `.build/debug/nacre` in the
    /// package; nil when the executable is not built.
    public static let path: String? = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var candidates = [runner.deletingLastPathComponent().appendingPathComponent("nacre").path,
                          runner.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("nacre").path]
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug/nacre").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// What a finished run printed and returned.
    public struct Run: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `nacre ARGUMENTS…` to completion with extra environment variables.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        guard let path else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "nacre is not built; run `swift build` first"])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
        let errData = LockedData()
        let errReader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        errReader.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.isSet { usleep(1000) }
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: errData.value, as: UTF8.self))
    }
}

/// A Data set once from another thread.
private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    var value: Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}
