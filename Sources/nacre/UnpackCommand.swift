import ArgumentParser
import Foundation
import NacreArchive
import NacreCodec
import NacreEngine
import NacreImage
import NacreStore

/// `nacre unpack`: restores images from an archive to PNG files, with the archive's own decoder.
struct UnpackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpack",
        abstract: "Restore images from a .nacre archive to PNG files.",
        discussion: """
            Decodes with the model stored in the archive and writes DIR/NAME as PNG in the source's mode \
            (gray stays gray, alpha is restored exactly, 16-bit comes back 16-bit with 8-bit precision). \
            Subfolders are created. Names that are absolute or contain `..` are refused. Existing files are \
            not overwritten unless --force: the command then stops before writing anything. Each file is \
            written atomically. A damaged image is reported and skipped, the others are restored, and the \
            exit status is 1.
            """)

    @Argument(help: "The archive to restore from.") var archive: String
    @Option(name: .shortAndLong, help: "Folder to write the PNG files to (created if missing).") var output: String
    @Option(name: .customLong("image"), help: "Restore only this image (repeatable); all by default.") var images: [String] = []
    @Option(help: "Compute threads.") var threads: Int?
    @Flag(help: "Apply the denoiser stored in the archive (`pack` stores the built-in one with the built-in model, or the one given by `--denoiser`) to every restored image.") var denoise = false
    @Flag(help: "Overwrite existing files.") var force = false
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        let reader: ArchiveReader
        let modelBytes: [UInt8]
        do {
            reader = try ArchiveReader.open(path: archive)
            modelBytes = try reader.readModel()
        } catch {
            throw CLIError(error)
        }
        let positions = try selectedPositions(in: reader)
        var targets: [(position: Int, name: String, path: String)] = []
        for position in positions {
            let name = reader.images[position].displayName
            let path: String
            do { path = try ImageRestorer.destination(of: name, in: output) } catch { throw CodecCommandError(error.message) }
            if !force && FileManager.default.fileExists(atPath: path) {
                throw CodecCommandError("\(path) already exists; nothing was written. Pass --force to overwrite, or unpack to another folder.")
            }
            targets.append((position, name, path))
        }
        let engine = try Engine(threads: threads)
        let models = try ImageRestorer.models(fromModelFrame: modelBytes, engine: engine, includingDenoiser: denoise)
        if denoise && models.denoiser == nil {
            throw CodecCommandError("\(archive) carries no denoiser; nothing was written. Restore without --denoise, or pack without --no-denoiser (built-in model) or with `--denoiser`.")
        }
        let (codec, denoiser) = models
        var restored: [UnpackReportJSON.Restored] = []
        var failed: [UnpackReportJSON.Failed] = []
        for target in targets {
            do {
                let image = try reader.readImage(at: target.position)
                let png = try ImageRestorer.png(image, with: codec, denoiser: denoiser)
                try FileManager.default.createDirectory(atPath: (target.path as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try CodecFiles.writeAtomically(png, to: target.path)
                restored.append(.init(name: target.name, path: target.path, width: image.record.width, height: image.record.height))
                if !json { print("restored \(target.name) → \(target.path)") }
            } catch {
                failed.append(.init(name: target.name, error: "\(error)"))
                FileHandle.standardError.write(Data("error: \(target.name) not restored: \(error)\n".utf8))
            }
        }
        if json {
            print(try CLIError.jsonString(UnpackReportJSON(archive: archive, output: output, restored: restored, failed: failed)))
        } else {
            print("restored \(restored.count) of \(targets.count) images to \(output)" + (failed.isEmpty ? "" : "; \(failed.count) failed"))
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }

    /// Positions of the requested images (all by default); an unknown name is an error before any write.
    private func selectedPositions(in reader: ArchiveReader) throws -> [Int] {
        guard !images.isEmpty else { return Array(reader.images.indices) }
        return try images.map { name in
            guard let position = reader.position(ofImageNamed: Array(name.utf8)) else {
                throw CodecCommandError("No image named \"\(name)\" is in \(archive). Use `nacre ls` to see the names.")
            }
            return position
        }
    }

}

/// The `--json` shape of `nacre unpack`.
struct UnpackReportJSON: Encodable {
    struct Restored: Encodable {
        var name: String
        var path: String
        var width: UInt32
        var height: UInt32
    }
    struct Failed: Encodable {
        var name: String
        var error: String
    }
    var archive: String
    var output: String
    var restored: [Restored]
    var failed: [Failed]
}
