import ArgumentParser
import Foundation
import NacreCatalog
import NacreStore

/// `nacre reindex`: rebuilds the catalog's archive and image rows from the `.nacre` files alone.
struct ReindexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild the catalog's archive and image rows from .nacre files.",
        discussion: "Finds every *.nacre under the folders (recursively; symbolic links are not followed), reads "
            + "every image record, and replaces the catalog's archive and image rows in one transaction "
            + "(models, ingest state and events are kept; unknown models are added as retired). The catalog "
            + "file is created if absent. Unreadable images and archives are skipped and named; exit status "
            + "is 1 if anything was skipped or found damaged, 0 otherwise. Images from format 1.0 archives do "
            + "not record the original file size: it is stored as 0 and counted in the output. The catalog's model "
            + "id is the manifest's model id when that is a SHA-256 in hex, else the SHA-256 of the archive's model.")

    @Option(name: .long, help: "The catalog database (created if absent).")
    var catalog: String
    @Argument(help: "Folders holding .nacre archives (a .nacre file is also accepted).")
    var folders: [String]
    @Flag(name: .long, help: "Print a JSON summary instead of text.")
    var json = false

    /// The `--json` output.
    struct Summary: Encodable {
        var catalog: String
        var archives: Int
        var images: Int
        var skipped: [ArchiveIndexer.Problem]
        var modelsAdded: [String]
        /// Images without a recorded original size (format 1.0 archives); their originalBytes is 0.
        var unknownOriginalSizes: Int
        /// Archives whose manifest model id is not a SHA-256; their model rows use the stored model's hash.
        var modelIDsFromHash: Int
    }

    func run() async throws {
        let paths: [String]
        do {
            paths = try ArchiveIndexer.findArchives(under: folders)
        } catch {
            throw CLIError(error)
        }
        let showsProgress = isatty(STDERR_FILENO) == 1
        let result = ArchiveIndexer.read(archives: paths) { done, total in
            guard showsProgress else { return }
            FileHandle.standardError.write(Data("\rreading archives: \(done)/\(total)\(done == total ? "\n" : "")".utf8))
        }
        let report: RebuildReport
        do {
            let database = try Catalog(path: catalog)
            report = try await database.rebuild(from: result.summaries)
            try database.close()
        } catch {
            throw CLIError(error)
        }
        let summary = Summary(catalog: catalog, archives: report.archiveCount, images: report.imageCount,
                              skipped: result.problems, modelsAdded: report.modelsAdded,
                              unknownOriginalSizes: result.unknownOriginalSizeCount,
                              modelIDsFromHash: result.modelIDsFromHashCount)
        if json {
            print(try CLIError.jsonString(summary))
        } else {
            printText(summary, found: paths.count)
        }
        if !result.problems.isEmpty { throw ExitCode(1) }
    }

    private func printText(_ summary: Summary, found: Int) {
        print("Reindexed \(summary.archives) of \(found) archives, \(summary.images) images, into \(summary.catalog).")
        if !summary.modelsAdded.isEmpty {
            print("Models added (as retired): \(summary.modelsAdded.joined(separator: ", ")).")
        }
        if summary.unknownOriginalSizes > 0 {
            print("warning: \(summary.unknownOriginalSizes) images have no recorded original file size (format 1.0 "
                  + "archives do not record it); it is stored as 0, so `stats` compression ratios under-count them.")
        }
        if summary.modelIDsFromHash > 0 {
            print("note: \(summary.modelIDsFromHash) archives name their model by an id that is not a SHA-256; "
                  + "the catalog keys their model by the SHA-256 of the model stored in the archive.")
        }
        for problem in summary.skipped {
            if let image = problem.image {
                print("skipped image \(image) in \(problem.archive): \(problem.reason)")
            } else if problem.archiveSkipped {
                print("skipped archive \(problem.archive): \(problem.reason)")
            } else {
                print("damaged archive \(problem.archive) (its readable images are indexed): \(problem.reason)")
            }
        }
    }
}
