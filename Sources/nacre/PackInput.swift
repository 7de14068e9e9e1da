import Foundation
import NacreImage

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
            guard FileManager.default.fileExists(atPath: argument) else {
                throw CodecCommandError("\(argument) does not exist. Pass PNG files or folders of PNG files.")
            }
            if PNGFileFinder.isFolder(argument) {
                let found = try PNGFileFinder.files(under: argument)
                guard !found.isEmpty else { throw CodecCommandError("\(argument) holds no PNG files (*.png).") }
                inputs += found.map { PackInput(path: $0.path, name: $0.relativeName) }
            } else {
                inputs.append(PackInput(path: argument, name: (argument as NSString).lastPathComponent))
            }
        }
        return inputs
    }

}
