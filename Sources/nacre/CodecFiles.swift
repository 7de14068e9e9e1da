import ArgumentParser
import Foundation
import NacreFiles
import NacreImage
import NacreStore

/// File helpers shared by the codec commands: PNG folders and atomic writes.
enum CodecFiles {
    /// The PNG files below a folder (or the file itself), sorted by name; at most `limit`.
    static func pngPaths(in path: String, limit: Int? = nil) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CodecCommandError("\(path) does not exist")
        }
        guard PNGFileFinder.isFolder(path) else { return [path] }
        let found = try PNGFileFinder.files(under: path).map(\.path)
        let chosen = limit.map { Array(found.prefix($0)) } ?? found
        guard !chosen.isEmpty else { throw CodecCommandError("no PNG files in \(path)") }
        return chosen
    }

    /// `model` when given, else the built-in base model's path.
    static func modelPath(_ model: String?) throws -> String {
        if let model { return model }
        do { return try BaseModel.locate() } catch { throw CodecCommandError(error.message) }
    }

    /// A comma-separated list of qualities (`--qualities 10,55,100`); the codec checks their range.
    static func qualities(_ text: String) throws -> [Double] {
        try text.split(separator: ",").map { part -> Double in
            guard let quality = Double(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("bad quality \(part)") }
            return quality
        }
    }

    static func readPNG(_ path: String) throws -> PixelBuffer {
        try PNGReader.read(contentsOfFile: path).pixels
    }

    /// Writes `bytes` atomically: a temporary file, fsync, rename over `path`, fsync of the folder.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw CodecCommandError("\(error)")
        }
    }

    static func readBytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CodecCommandError("cannot read \(path)") }
        return Array(data)
    }
}

/// A command-line failure with a message that says what to do.
struct CodecCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
