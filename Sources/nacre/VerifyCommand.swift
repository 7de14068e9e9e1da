import ArgumentParser
import Foundation
import NacreArchive

/// `nacre verify`: checks every frame of one or more archives and names what is damaged.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the checksums and structure of .nacre archives; name every damaged image.",
        discussion: "Exit status 0 when every archive is intact, 1 when any is damaged or unreadable. "
            + "This checks the container (zstd and index checksums, records); decoding the images "
            + "against the PSNR recorded at encode needs the codec and is done by the daemon's verify step.")

    @Argument(help: "Archives to check.")
    var archives: [String]
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    struct Result: Encodable {
        var archive: String
        var intact: Bool
        var openedVia: String?
        var frames: Int
        var damagedImages: [String]
        var problems: [String]
    }

    func run() throws {
        var results: [Result] = []
        for path in archives {
            do {
                let report = try ArchiveReader.open(path: path).verify()
                results.append(Result(
                    archive: path, intact: report.isIntact, openedVia: "\(report.openedVia)", frames: report.frames.count,
                    damagedImages: report.damagedImageNames.map { String(decoding: $0, as: UTF8.self) },
                    problems: report.archiveProblems.map(\.description)
                        + report.damagedFrames.compactMap { $0.problem.map { "\($0)" } }))
            } catch {
                results.append(Result(archive: path, intact: false, openedVia: nil, frames: 0, damagedImages: [],
                                      problems: ["\(error)"]))
            }
        }
        if json {
            print(try CLIError.jsonString(results))
        } else {
            for r in results {
                if r.intact {
                    print("\(r.archive): OK (\(r.frames) frames)")
                } else {
                    print("\(r.archive): DAMAGED")
                    for name in r.damagedImages { print("  lost image: \(name)") }
                    for problem in r.problems { print("  \(problem)") }
                }
            }
        }
        if results.contains(where: { !$0.intact }) { throw ExitCode(1) }
    }
}
