#if canImport(Glibc)
import Glibc
#endif

/// Thread-safe look-ups in the user and group databases (the `_r` variants: connection threads
/// and config reloads may look up at the same time).
enum UserDatabase {
    static func uid(named name: String) -> UInt32? {
        withPasswd { getpwnam_r(name, &$0, $1, $2, &$3) }?.uid
    }

    static func gid(named name: String) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let status = buffer.withUnsafeMutableBufferPointer { getgrnam_r(name, &entry, $0.baseAddress, $0.count, &result) }
        return status == 0 && result != nil ? entry.gr_gid : nil
    }

    /// The user's name and primary gid.
    static func user(uid: UInt32) -> (name: String, gid: UInt32)? {
        withPasswd { getpwuid_r(uid, &$0, $1, $2, &$3) }.map { ($0.name, $0.gid) }
    }

    /// Every group of the user with this uid (primary and supplementary).
    static func groups(ofUID uid: UInt32) -> [UInt32] {
        guard let user = user(uid: uid) else { return [] }
        var count: Int32 = 64
        for _ in 0..<4 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let capacity = count
            if getgrouplist(user.name, user.gid, &groups, &count) >= 0 {
                return Array(groups.prefix(Int(count)))
            }
            count = max(count, capacity * 4)
        }
        return [user.gid]
    }

    private static func withPasswd(
        _ lookup: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> (name: String, uid: UInt32, gid: UInt32)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let status = buffer.withUnsafeMutableBufferPointer { lookup(&entry, $0.baseAddress!, $0.count, &result) }
        guard status == 0, result != nil, let name = entry.pw_name else { return nil }
        return (String(cString: name), entry.pw_uid, entry.pw_gid)
    }
}
