// libFuzzer entry point for the archive reader. Not part of the SwiftPM test target (excluded in
// Package.swift); built by run-fuzzer.sh together with the NacreArchive sources.

/// Feeds arbitrary bytes to the in-memory reader and exercises every read path. Any trap, crash,
/// hang or sanitizer report is a bug: bad input must only ever produce `ArchiveError`s.
@_cdecl("LLVMFuzzerTestOneInput")
public func archiveReaderFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // The structure parsers directly: inside an archive they sit behind checksums the fuzzer rarely forges.
    _ = try? ArchiveImage.decode(content: bytes)
    _ = try? ArchiveIndex.decode(table: bytes, limit: UInt64(bytes.count) * 4)
    _ = try? ArchiveTrailer.decode(frame: bytes)
    _ = try? ZstdFrame.decompress(bytes)
    guard let reader = try? ArchiveReader.parse(bytes: bytes) else { return 0 }
    _ = try? reader.readManifest()
    _ = try? reader.readModel()
    for position in reader.images.indices { _ = try? reader.readImage(at: position) }
    if let first = reader.images.first { _ = try? reader.readImage(named: first.name) }
    _ = reader.verify()
    return 0
}
