#if canImport(Glibc)
import Glibc
#endif

/// The process on the other end of a Unix socket, from `SO_PEERCRED` (taken by the kernel at
/// `connect`, so it cannot be forged by the client).
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }

    /// Reads the credentials of a connected socket's peer.
    static func of(socket fd: Int32) throws(DaemonError) -> PeerCredentials {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } — not imported by Swift's Glibc module.
        var raw: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: raw))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &raw, &length) == 0 else {
            throw DaemonError.system("getsockopt(SO_PEERCRED)", "a control connection")
        }
        return PeerCredentials(pid: raw.0, uid: raw.1, gid: raw.2)
    }

    /// Whether this peer may use the socket.
    ///
    /// Root and the daemon's own uid are always allowed (they can read the daemon's files anyway).
    /// Otherwise the uid must be listed, or the peer's primary gid, or a supplementary group of
    /// the peer's user in the group database, must be listed.
    func isAllowed(uids: [UInt32], gids: [UInt32], ownUID: UInt32 = getuid()) -> Bool {
        if uid == 0 || uid == ownUID || uids.contains(uid) { return true }
        if gids.isEmpty { return false }
        if gids.contains(gid) { return true }
        return UserDatabase.groups(ofUID: uid).contains { gids.contains($0) }
    }
}
