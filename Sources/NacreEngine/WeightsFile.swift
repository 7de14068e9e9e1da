import NacreChecksums
import NacreFiles
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Named float32 tensors plus string metadata in the checksummed `.nwt` format described in
/// docs/WEIGHTS.md (magic "NACREWT1", version, metadata, tensors, CRC-32 trailer). Writes are
/// atomic (temp file, fsync, rename, fsync of the directory).
public struct WeightsFile: Sendable, Equatable {
    /// One named tensor.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    static let magic: [UInt8] = Array("NACREWT1".utf8)
    static let endMagic: [UInt8] = Array("NWTE".utf8)
    static let formatVersion: UInt32 = 1
    static let dtypeFloat32: UInt8 = 1
    static let maxNameBytes = 4096
    static let maxDims = 8

    public var metadata: [String: String]
    public var entries: [Entry]

    public init(metadata: [String: String] = [:], entries: [Entry]) {
        self.metadata = metadata
        self.entries = entries
    }

    /// A snapshot of `parameters` (names are the keys).
    public init(parameters: [Parameter], metadata: [String: String] = [:]) {
        self.init(metadata: metadata,
                  entries: parameters.map { Entry(name: $0.name, shape: $0.shape, values: $0.values()) })
    }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// Copies the matching entries into `parameters`. Every parameter must be present with the same
    /// shape; extra entries (e.g. optimizer state) are ignored.
    public func load(into parameters: [Parameter]) throws {
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for p in parameters {
            guard let e = byName[p.name] else {
                throw EngineError(.weightsMismatch, "weights file has no tensor \(p.name); it was saved from a different model")
            }
            guard e.shape == p.shape else {
                throw EngineError(.weightsMismatch, "tensor \(p.name) has shape \(e.shape) in the file but \(p.shape) in the model")
            }
        }
        for p in parameters { try p.setValues(byName[p.name]!.values) }
    }

    // MARK: Encoding

    public func encoded() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(64) { $0 + $1.values.count * 4 + $1.name.utf8.count + 64 })
        out += WeightsFile.magic
        put32(&out, WeightsFile.formatVersion)
        put32(&out, 0)  // flags
        put32(&out, UInt32(metadata.count))
        put32(&out, UInt32(entries.count))
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) {
            try putString(&out, k)
            try putString(&out, v)
        }
        var seen = Set<String>()
        for e in entries {
            guard seen.insert(e.name).inserted else {
                throw EngineError(.invalidArgument, "duplicate tensor name \(e.name); names must be unique")
            }
            guard e.shape.count <= WeightsFile.maxDims, e.shape.allSatisfy({ $0 >= 0 }),
                  e.shape.reduce(1, *) == e.values.count else {
                throw EngineError(.invalidArgument, "tensor \(e.name): shape \(e.shape) does not match \(e.values.count) values")
            }
            try putString(&out, e.name)
            out.append(WeightsFile.dtypeFloat32)
            out.append(UInt8(e.shape.count))
            for d in e.shape { put64(&out, UInt64(d)) }
            for v in e.values { put32(&out, v.bitPattern) }
        }
        put32(&out, CRC32.checksum(out))
        out += WeightsFile.endMagic
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws -> WeightsFile {
        func corrupt(_ why: String) -> EngineError {
            EngineError(.corruptWeights, "weights file is corrupt: \(why); restore it from a backup or retrain")
        }
        guard bytes.count >= magic.count + 16 + 8, Array(bytes[0..<8]) == magic else {
            throw corrupt("missing NACREWT1 magic (not a Nacre weights file, or truncated)")
        }
        guard Array(bytes[(bytes.count - 4)...]) == endMagic else { throw corrupt("missing end marker (truncated)") }
        let body = bytes.count - 8
        var r = Reader(bytes: bytes, end: body)
        let stored = UInt32(bytes[body]) | UInt32(bytes[body + 1]) << 8 | UInt32(bytes[body + 2]) << 16 | UInt32(bytes[body + 3]) << 24
        let actual = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard stored == actual else {
            throw corrupt(String(format: "CRC-32 mismatch (stored %08x, computed %08x)", stored, actual))
        }
        r.offset = 8
        let version = try r.u32()
        guard version == formatVersion else {
            throw EngineError(.corruptWeights, "weights format version \(version) is not supported (this build reads \(formatVersion)); upgrade nacre")
        }
        _ = try r.u32()
        let metaCount = try r.u32(), tensorCount = try r.u32()
        var metadata: [String: String] = [:]
        for _ in 0..<metaCount { metadata[try r.string()] = try r.string() }
        var entries: [Entry] = []
        for _ in 0..<tensorCount {
            let name = try r.string()
            guard try r.u8() == dtypeFloat32 else { throw corrupt("tensor \(name) has an unknown element type") }
            let nd = Int(try r.u8())
            guard nd <= maxDims else { throw corrupt("tensor \(name) has \(nd) dimensions") }
            var shape: [Int] = []
            var count = 1
            for _ in 0..<nd {
                let d = try r.u64()
                guard d <= UInt64(Int32.max) else { throw corrupt("tensor \(name) has an absurd dimension") }
                shape.append(Int(d))
                count = count.multipliedReportingOverflow(by: Int(d)).partialValue
            }
            guard count >= 0, count <= (r.end - r.offset) / 4 else { throw corrupt("tensor \(name) runs past the end") }
            var values = [Float](repeating: 0, count: count)
            for i in 0..<count { values[i] = Float(bitPattern: try r.u32()) }
            entries.append(Entry(name: name, shape: shape, values: values))
        }
        guard r.offset == body else { throw corrupt("\(body - r.offset) unexpected bytes after the last tensor") }
        return WeightsFile(metadata: metadata, entries: entries)
    }

    // MARK: Files

    /// Writes atomically: `<path>.tmp-<pid>`, fsync, rename over `path`, fsync the directory.
    public func write(to path: String) throws {
        let bytes = try encoded()
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw EngineError(.io, "\(error)")
        }
    }

    public static func read(from path: String) throws -> WeightsFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EngineError(.io, "reading weights \(path) failed: \(error.localizedDescription)")
        }
        return try decode([UInt8](data))
    }

    // MARK: Byte helpers

    private func put32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)]
    }

    private func put64(_ out: inout [UInt8], _ v: UInt64) {
        put32(&out, UInt32(v & 0xFFFF_FFFF))
        put32(&out, UInt32(v >> 32))
    }

    private func putString(_ out: inout [UInt8], _ s: String) throws {
        let u = Array(s.utf8)
        guard u.count <= WeightsFile.maxNameBytes else {
            throw EngineError(.invalidArgument, "string of \(u.count) bytes is longer than \(WeightsFile.maxNameBytes)")
        }
        put32(&out, UInt32(u.count))
        out += u
    }

    private struct Reader {
        let bytes: [UInt8]
        let end: Int
        var offset = 0

        mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, offset + n <= end else {
                throw EngineError(.corruptWeights, "weights file is corrupt: truncated at byte \(offset); restore it from a backup or retrain")
            }
            defer { offset += n }
            return bytes[offset..<offset + n]
        }

        mutating func u8() throws -> UInt8 { try take(1).first! }

        mutating func u32() throws -> UInt32 {
            let s = try take(4)
            return s.reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func u64() throws -> UInt64 {
            let lo = UInt64(try u32()), hi = UInt64(try u32())
            return lo | hi << 32
        }

        mutating func string() throws -> String {
            let n = Int(try u32())
            guard n <= WeightsFile.maxNameBytes else {
                throw EngineError(.corruptWeights, "weights file is corrupt: a name claims \(n) bytes")
            }
            return String(decoding: try take(n), as: UTF8.self)
        }
    }
}
