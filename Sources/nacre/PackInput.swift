import Foundation

/// One PNG file `nacre pack` archives: where it is, and the name it is stored under.
struct PackInput: Hashable {
    /// Path to read.
    var path: String
    /// Archive name: the path relative to the folder argument, or the file name of a file argument.
    var name: String

    /// The inputs of the command-line arguments, in argument order; each folder taken recursively
    /// (`*.png` only, case-insensitive, hidden entries skipped, symlinks not followed), sorted by
    /// relative path. A file argument is taken whatever its extension: the PNG reader judges it.
    static func collect(_ arguments: [String]) throws -> [PackInput] {
        var inputs: [PackInput] = []
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw CodecCommandError("\(argument) does not exist. Pass PNG files or folders of PNG files.")
            }
            if isDirectory.boolValue {
                let found = try pngFiles(under: argument, relative: "")
                guard !found.isEmpty else { throw CodecCommandError("\(argument) holds no PNG files (*.png).") }
                inputs += found.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
            } else {
                inputs.append(PackInput(path: argument, name: (argument as NSString).lastPathComponent))
            }
        }
        return inputs
    }

    /// PNG files below `folder`, named by their path relative to the top folder.
    private static func pngFiles(under folder: String, relative: String) throws -> [PackInput] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw CodecCommandError("cannot list \(folder): \(error.localizedDescription)")
        }
        var found: [PackInput] = []
        for entry in entries where !entry.hasPrefix(".") {
            let path = (folder as NSString).appendingPathComponent(entry)
            let name = relative.isEmpty ? entry : relative + "/" + entry
            // attributesOfItem does not follow symlinks: a link is neither a folder nor a regular file here.
            let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
            if type == .typeDirectory {
                found += try pngFiles(under: path, relative: name)
            } else if type == .typeRegular, entry.lowercased().hasSuffix(".png") {
                found.append(PackInput(path: path, name: name))
            }
        }
        return found
    }
}
