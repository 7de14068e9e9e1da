#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import Synchronization

/// The daemon's control socket: a Unix domain stream socket speaking newline-delimited JSON
/// (docs/PROTOCOL.md).
///
/// Why plain POSIX and threads rather than SwiftNIO: the socket serves a handful of local
/// administrators and scripts, a few requests a second, so an event loop buys nothing; the whole
/// server is a few hundred lines over `poll(2)`, needs no extra package (NIO roughly doubles a
/// clean debug build on the project's 2-core machines) and keeps peer-credential checks
/// (`SO_PEERCRED`) and socket-file handling explicit. Each connection gets its own thread (not a
/// pool task, since it blocks in `poll`), bounded by `max_clients`; the request itself is
/// answered by an async ``ControlHandler`` task.
///
/// Lifecycle: ``start()`` takes an exclusive lock beside the socket (`PATH.lock`), refuses if a
/// live daemon answers on the path, binds a temporary name in the same folder, applies the mode
/// with `chmod`, renames it over the final path (replacing a stale socket atomically) and only
/// then calls `listen`. Until `listen` every connect is refused, so there is no moment when the
/// socket accepts connections with the wrong permission bits. ``stop(timeout:)`` wakes every
/// thread, waits for them, and removes the socket file if it is still ours.
public final class ControlServer: Sendable {
    /// Longest accepted request line (without its newline).
    public static let maxRequestBytes = 64 * 1024

    private struct Settings {
        var allowedUIDs: [UInt32]
        var allowedGIDs: [UInt32]
        var idleTimeout: Double
        var maxClients: Int
    }

    private struct State {
        var settings: Settings
        var listenFD: Int32 = -1
        var lockFD: Int32 = -1
        /// Inode of the socket file we created, to avoid unlinking a successor's socket.
        var socketInode: UInt = 0
        var activeConnections = 0
        var running = false
    }

    /// Absolute path of the socket file.
    public let path: String
    private let mode: UInt32
    private let dispatcher: ControlDispatcher
    private let logger: Logger
    private let state: Mutex<State>
    private let wake: (read: Int32, write: Int32)
    private let threads = DispatchGroup()

    public init(socket: DaemonConfig.Socket, handler: any ControlHandler, logger: Logger) throws(DaemonError) {
        self.path = socket.path
        self.mode = socket.mode
        self.dispatcher = ControlDispatcher(handler: handler)
        self.logger = logger
        self.state = Mutex(State(settings: Settings(allowedUIDs: socket.allowedUIDs, allowedGIDs: socket.allowedGIDs,
                                                    idleTimeout: socket.idleTimeoutSeconds, maxClients: socket.maxClients)))
        self.wake = try SocketIO.makePipe()
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// Connections being served right now.
    public var activeConnections: Int { state.withLock { $0.activeConnections } }

    /// Applies the reloadable socket settings (access lists, timeout, connection bound). Path and
    /// mode need a restart.
    public func update(_ socket: DaemonConfig.Socket) {
        state.withLock {
            $0.settings = Settings(allowedUIDs: socket.allowedUIDs, allowedGIDs: socket.allowedGIDs,
                                   idleTimeout: socket.idleTimeoutSeconds, maxClients: socket.maxClients)
        }
    }

    /// Creates the socket file and starts accepting connections on a background thread.
    public func start() throws(DaemonError) {
        drainWake()  // a server may be started again after stop()
        let lockFD = try acquireLock()
        do throws(DaemonError) {
            try refuseLiveDaemon()
            let (listenFD, inode) = try bindAndListen()
            state.withLock {
                $0.lockFD = lockFD
                $0.listenFD = listenFD
                $0.socketInode = inode
                $0.running = true
            }
        } catch {
            close(lockFD)
            throw error
        }
        threads.enter()
        let thread = Thread { [self] in
            acceptLoop()
            threads.leave()
        }
        thread.name = "nacre-control-accept"
        thread.start()
        logger.info("control socket listening", metadata: ["path": "\(path)", "mode": "\(String(mode, radix: 8))"])
    }

    /// Stops accepting, wakes every connection, waits up to `timeout` seconds for handlers in
    /// flight, removes the socket file and releases the lock. Safe to call more than once.
    public func stop(timeout: Double = 5) {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        guard wasRunning else { return }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        if threads.wait(timeout: .now() + timeout) == .timedOut {
            logger.warning("control connections still busy after \(timeout) s; closing the socket anyway")
        }
        let (listenFD, lockFD, inode) = state.withLock { ($0.listenFD, $0.lockFD, $0.socketInode) }
        var info = stat()
        if lstat(path, &info) == 0, UInt(info.st_ino) == inode { unlink(path) }
        close(listenFD)
        close(lockFD)
        logger.info("control socket closed", metadata: ["path": "\(path)"])
    }

    private func drainWake() {
        var sink = [UInt8](repeating: 0, count: 64)
        while sink.withUnsafeMutableBytes({ read(wake.read, $0.baseAddress, $0.count) }) > 0 {}
    }

    // MARK: Socket file

    /// `PATH.lock`, held with `flock` for the daemon's lifetime: one daemon per socket.
    private func acquireLock() throws(DaemonError) -> Int32 {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw DaemonError.system("open", lockPath, code: .socketPath) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let err = errno
            close(fd)
            if err == EWOULDBLOCK {
                throw DaemonError(code: .socketInUse, message: "another nacre daemon holds \(lockPath); stop it first or use another socket.path")
            }
            throw DaemonError.system("flock", lockPath, errno: err, code: .socketPath)
        }
        return fd
    }

    /// Fails if something that is not a socket sits at the path, or a live daemon answers there.
    private func refuseLiveDaemon() throws(DaemonError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw DaemonError(code: .socketPath, message: "\(path) exists and is not a socket; remove it or choose another socket.path")
        }
        if let fd = try? SocketIO.connect(path: path) {
            close(fd)
            throw DaemonError(code: .socketInUse, message: "a live process answers on \(path); stop it first or use another socket.path")
        }
        logger.info("replacing stale control socket from a previous run", metadata: ["path": "\(path)"])
    }

    private func bindAndListen() throws(DaemonError) -> (Int32, UInt) {
        let folder = PathResolver.parentFolder(of: path)
        let temporary = "\(folder)/.nacre-bind-\(getpid())"
        unlink(temporary)
        let fd = try SocketIO.makeSocket(type: Int32(SOCK_STREAM.rawValue))
        do throws(DaemonError) {
            var (address, length) = try SocketIO.address(temporary)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            guard bound == 0 else { throw DaemonError.system("bind", temporary, code: .socketPath) }
            guard chmod(temporary, mode_t(mode)) == 0 else {
                let error = DaemonError.system("chmod", temporary, code: .socketPath)
                unlink(temporary)
                throw error
            }
            guard rename(temporary, path) == 0 else {
                let error = DaemonError.system("rename", "\(temporary) to \(path)", code: .socketPath)
                unlink(temporary)
                throw error
            }
            var info = stat()
            guard lstat(path, &info) == 0 else { throw DaemonError.system("lstat", path, code: .socketPath) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            guard listen(fd, 128) == 0 else {
                let error = DaemonError.system("listen", path, code: .socketPath)
                unlink(path)
                throw error
            }
            return (fd, UInt(info.st_ino))
        } catch {
            close(fd)
            throw error
        }
    }

    // MARK: Connections

    private func acceptLoop() {
        let listenFD = state.withLock { $0.listenFD }
        while SocketIO.waitReadable(listenFD, deadline: nil, wake: wake.read) == .ready {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE {
                    logger.error("out of file descriptors accepting a control connection; retrying in 100 ms")
                    usleep(100_000)
                }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let admitted = state.withLock { state in
                guard state.running, state.activeConnections < state.settings.maxClients else { return false }
                state.activeConnections += 1
                return true
            }
            guard admitted else {
                // Best effort, never blocks the accept loop.
                let busy = ControlReply.failure(id: .null, error: ControlError(.busy, "too many control connections; retry shortly"))
                _ = (busy.encodedLine() + [10]).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                close(fd)
                continue
            }
            threads.enter()
            let thread = Thread { [self] in
                serve(fd)
                close(fd)
                state.withLock { $0.activeConnections -= 1 }
                threads.leave()
            }
            thread.name = "nacre-control-conn"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        let settings = state.withLock { $0.settings }
        let peer: PeerCredentials
        do {
            peer = try PeerCredentials.of(socket: fd)
        } catch {
            logger.warning("dropping control connection: \(error)")
            return
        }
        guard peer.isAllowed(uids: settings.allowedUIDs, gids: settings.allowedGIDs) else {
            logger.notice("refused control connection", metadata: ["peer": "\(peer)"])
            finish(fd, with: ControlError(.permissionDenied, "uid \(peer.uid) is not allowed on this socket; ask the administrator to add it to socket.allowed_uids or a group to socket.allowed_gids"),
                   timeout: settings.idleTimeout)
            return
        }
        logger.debug("control connection", metadata: ["peer": "\(peer)"])
        var reader = LineReader(fd: fd, maxLineBytes: Self.maxRequestBytes)
        while true {
            let timeout = state.withLock { $0.settings.idleTimeout }
            switch reader.next(deadline: SocketIO.now() + timeout, wake: wake.read) {
            case .line(let line):
                if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                let reply = dispatcher.blockingReply(to: line, peer: peer)
                do {
                    try SocketIO.writeAll(fd, reply.encodedLine() + [10], deadline: SocketIO.now() + timeout)
                } catch {
                    logger.debug("control client went away: \(error)", metadata: ["peer": "\(peer)"])
                    return
                }
            case .tooLarge:
                logger.notice("control request over \(Self.maxRequestBytes) bytes; closing", metadata: ["peer": "\(peer)"])
                finish(fd, with: ControlError(.requestTooLarge, "request lines are limited to \(Self.maxRequestBytes) bytes; closing the connection"),
                       timeout: timeout)
                return
            case .timedOut:
                finish(fd, with: ControlError(.timeout, "no complete request within \(timeout) s; closing the connection"), timeout: 1)
                return
            case .woken:
                finish(fd, with: ControlError(.shuttingDown, "the daemon is stopping"), timeout: 1)
                return
            case .endOfStream, .failed:
                return
            }
        }
    }

    /// Sends a last error reply, half-closes, and discards what the client still sends (briefly,
    /// bounded) so that it reads the reply and a clean end of stream rather than a reset.
    private func finish(_ fd: Int32, with error: ControlError, timeout: Double) {
        let line = ControlReply.failure(id: .null, error: error).encodedLine() + [10]
        try? SocketIO.writeAll(fd, line, deadline: SocketIO.now() + min(timeout, 5))
        shutdown(fd, Int32(SHUT_WR))
        let deadline = SocketIO.now() + 1
        var discarded = 0
        var sink = [UInt8](repeating: 0, count: 16 * 1024)
        while discarded < 4 << 20, SocketIO.waitReadable(fd, deadline: deadline, wake: nil) == .ready {
            let count = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count <= 0 { break }
            discarded += count
        }
    }
}
