#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreStore

/// Where a `restore` writes: an open descriptor of a folder that is inside a restore root, and a
/// plain file name in it. Every later step works relative to that descriptor, so nothing that
/// happens to the path afterwards (a folder renamed, a symbolic link swapped in) can redirect
/// the write outside the roots.
///
/// Rules (docs/PROTOCOL.md § restore): the destination must be absolute; `.` and `..`
/// components are refused outright; the folder is opened and its real path (the kernel's view
/// of the opened folder, `/proc/self/fd/N`) must be a restore root or lie below one, so a
/// symbolic link that leads out is refused; the file is created under a fresh temporary name
/// with `O_EXCL | O_NOFOLLOW` and renamed into place, never following a final symbolic link
/// (with `overwrite` a link at the destination is replaced, not written through); without
/// `overwrite` an existing entry is never replaced (`linkat`, which fails on any existing name).
///
/// Why not NacreFiles' `AtomicFile.write`: it opens `PATH.tmp-PID` by path, following a symbolic
/// link planted there, and renames by path; both would let a user who can write in a restore
/// root redirect the daemon's write.
final class RestoreDestination {
    /// The folder, opened (`O_DIRECTORY`), inside a restore root.
    let folderFD: Int32
    /// The folder's real path.
    let folderPath: String
    /// The file name inside the folder (no `/`).
    let name: String

    var path: String { folderPath == "/" ? "/" + name : folderPath + "/" + name }

    private init(folderFD: Int32, folderPath: String, name: String) {
        self.folderFD = folderFD
        self.folderPath = folderPath
        self.name = name
    }

    deinit { close(folderFD) }

    /// Resolves the destination of a restore of `imageName`: `requested` (an absolute path; when
    /// it names an existing folder, the image's base name inside it), or by default
    /// FIRST-ROOT/IMAGE-NAME (subfolders of the name are created inside the root).
    /// Fails with `forbidden_path`, `invalid_argument`, `not_found` or `exists`.
    static func resolve(requested: String?, imageName: String, roots: [String], overwrite: Bool) throws(ControlError) -> RestoreDestination {
        let realRoots = roots.compactMap(realPath(of:))
        guard !realRoots.isEmpty else {
            throw ControlError(.notAvailable, "no restore root exists (restore_roots: \(roots.joined(separator: ", "))); create one or set restore_roots in the config and reload")
        }
        let destination: RestoreDestination
        if let requested {
            destination = try open(requested: requested, imageName: imageName, roots: roots, realRoots: realRoots)
        } else {
            destination = try openDefault(imageName: imageName, root: realRoots[0])
        }
        try destination.checkFree(overwrite: overwrite)
        return destination
    }

    // MARK: Resolving

    private static func open(requested: String, imageName: String, roots: [String], realRoots: [String]) throws(ControlError) -> RestoreDestination {
        guard requested.hasPrefix("/") else {
            throw ControlError(.invalidArgument, "'to' must be an absolute path (nacre ctl makes relative paths absolute); got '\(requested)'")
        }
        let components = requested.split(separator: "/").map(String.init)
        if components.contains(where: { $0 == ".." || $0 == "." }) {
            throw ControlError(.forbiddenPath, "'to' may not contain '.' or '..' components: '\(requested)'; give the plain path inside a restore root (\(roots.joined(separator: ", ")))")
        }
        let namesFolder = requested.hasSuffix("/") || components.isEmpty
        let folderComponents = namesFolder ? components : Array(components.dropLast())
        let folder = "/" + folderComponents.joined(separator: "/")
        let fileName = namesFolder ? try baseName(of: imageName) : components.last!
        let fd = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            if error == ENOENT {
                throw ControlError(.notFound, "the folder \(folder) does not exist; create it inside a restore root (\(roots.joined(separator: ", "))) or restore without 'to'")
            }
            if error == ENOTDIR {
                throw ControlError(.invalidArgument, "\(folder) is not a folder")
            }
            throw ControlError(.forbiddenPath, "the daemon cannot open the folder \(folder): \(String(cString: strerror(error))); restore into a restore root (\(roots.joined(separator: ", ")))")
        }
        var destination = try confined(fd: fd, shownAs: folder, realRoots: realRoots, name: fileName)
        // `to` naming an existing folder (no trailing slash): restore into it under the image's name.
        var info = stat()
        if !namesFolder, fstatat(fd, destination.name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFDIR {
            let innerName = try baseName(of: imageName)
            let inner = openat(fd, destination.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard inner >= 0 else {
                throw ControlError(.forbiddenPath, "cannot open the folder \(requested): \(String(cString: strerror(errno)))")
            }
            destination = try confined(fd: inner, shownAs: requested, realRoots: realRoots, name: innerName)
        }
        return destination
    }

    /// FIRST-ROOT/NAME: the name's folders are created, each opened without following links.
    private static func openDefault(imageName: String, root: String) throws(ControlError) -> RestoreDestination {
        do {
            _ = try ImageRestorer.destination(of: imageName, in: root)
        } catch {
            throw ControlError(.forbiddenPath, "\(error.message) Give a destination with 'to'.")
        }
        var components = imageName.split(separator: "/").map(String.init)
        let name = components.removeLast()
        var fd = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ControlError(.internal, "cannot open the restore root \(root): \(String(cString: strerror(errno)))")
        }
        var folder = root
        for component in components {
            if mkdirat(fd, component, 0o750) != 0, errno != EEXIST {
                let error = errno
                close(fd)
                throw ControlError(.internal, "cannot create the folder \(folder)/\(component): \(String(cString: strerror(error))); check the restore root's permissions and free space")
            }
            let next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let error = errno
            close(fd)
            guard next >= 0 else {
                throw ControlError(.forbiddenPath, "\(folder)/\(component) is not a plain folder (a symbolic link or a file: \(String(cString: strerror(error)))); restore with 'to' elsewhere")
            }
            fd = next
            folder += "/" + component
        }
        return RestoreDestination(folderFD: fd, folderPath: realPath(ofDescriptor: fd) ?? folder, name: name)
    }

    /// Wraps `fd` after checking that the folder it opened really is inside a root (closes it otherwise).
    private static func confined(fd: Int32, shownAs: String, realRoots: [String], name: String) throws(ControlError) -> RestoreDestination {
        guard let real = realPath(ofDescriptor: fd), realRoots.contains(where: { isInside(real, root: $0) }) else {
            let real = realPath(ofDescriptor: fd) ?? "?"
            close(fd)
            throw ControlError(.forbiddenPath, "\(shownAs) is \(real == shownAs ? "" : "really \(real), ")outside the restore roots (\(realRoots.joined(separator: ", "))); restore into one of them")
        }
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), name.utf8.count <= 255 else {
            close(fd)
            throw ControlError(.invalidArgument, "'\(name)' is not a usable file name")
        }
        return RestoreDestination(folderFD: fd, folderPath: real, name: name)
    }

    private static func baseName(of imageName: String) throws(ControlError) -> String {
        guard let last = imageName.split(separator: "/").last.map(String.init), last != "..", last != "." else {
            throw ControlError(.forbiddenPath, "the image name '\(imageName)' has no usable file name; give 'to' with a file name")
        }
        return last
    }

    static func isInside(_ path: String, root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    static func realPath(of path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// What the kernel says the open folder is now (`/proc/self/fd/N`).
    static func realPath(ofDescriptor fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Writing

    /// Refuses an existing entry unless `overwrite`; never replaces a folder.
    private func checkFree(overwrite: Bool) throws(ControlError) {
        var info = stat()
        guard fstatat(folderFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            throw ControlError(.exists, "\(path) is a folder; choose a file name")
        }
        if !overwrite {
            throw ControlError(.exists, "\(path) already exists; pass 'overwrite' (nacre ctl: restore IMAGE to PATH overwrite) or choose another path")
        }
    }

    /// Writes `bytes` durably under a temporary name, then renames it to ``name`` (replacing an
    /// existing file only with `overwrite`) and syncs the folder.
    func write(_ bytes: [UInt8], overwrite: Bool, mode: mode_t = 0o644) throws(ControlError) {
        let temporary = ".nacre-restore-\(UInt64.random(in: 0...UInt64.max))"
        let fd = openat(folderFD, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("create a temporary file in", folderPath) }
        var written = 0
        var ok = true
        bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let count = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if count < 0 { if errno == EINTR { continue }; ok = false; return }
                written += count
            }
        }
        if ok { ok = fchmod(fd, mode) == 0 && fsync(fd) == 0 }
        let writeError = errno
        close(fd)
        guard ok else {
            unlinkat(folderFD, temporary, 0)
            errno = writeError
            throw failure("write", path)
        }
        // Without overwrite, a hard link is the atomic "create if absent": it fails with EEXIST
        // on any existing entry (a symbolic link included) and never follows one.
        let renamed = overwrite
            ? renameat(folderFD, temporary, folderFD, name)
            : linkat(folderFD, temporary, folderFD, name, 0)
        if renamed == 0, !overwrite { unlinkat(folderFD, temporary, 0) }
        if renamed != 0 {
            let error = errno
            unlinkat(folderFD, temporary, 0)
            if error == EEXIST {
                throw ControlError(.exists, "\(path) appeared while restoring; pass 'overwrite' or choose another path")
            }
            errno = error
            throw failure("rename the restored file to", path)
        }
        guard fsync(folderFD) == 0 else { throw failure("sync the folder", folderPath) }
    }

    private func failure(_ step: String, _ what: String) -> ControlError {
        ControlError(.internal, "could not \(step) \(what): \(String(cString: strerror(errno))); check free space and the folder's permissions")
    }
}
