import Foundation
import Testing
import NacreArchive

/// Benchmark, not a test: run with
/// `NACRE_BENCH=1 swift test -c release --filter ArchiveListBenchmark`.
/// Writes a 10,000-image archive, then times `ls` (open through trailer and index, list every image)
/// and a one-image restore, with the reads each makes. With `NACRE_BENCH_ARCHIVE=PATH` the archive
/// is also copied to PATH and kept, for timing the `nacre ls` process on it (bench/ls-10k.sh).
@Suite("Archive benchmark (NACRE_BENCH=1)")
struct ArchiveListBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["NACRE_BENCH"] == "1"

    static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    @Test("ls and restore on a 10,000-image archive", .enabled(if: enabled, "benchmark: set NACRE_BENCH=1 and build in release"))
    func listTenThousand() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let path = folder + "/bench.nacre"
        let model = ArchiveTestSupport.model(count: 600_000)
        let images = ArchiveTestSupport.images(count: 10_000, latentBytes: 1_000...4_000)
        var sealed: ArchiveWriter.SealedArchive?
        let writeTime = try Self.milliseconds { sealed = try ArchiveTestSupport.writeArchive(at: path, images: images, model: model) }
        let archive = try #require(sealed)
        if let keep = ProcessInfo.processInfo.environment["NACRE_BENCH_ARCHIVE"], !keep.isEmpty {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: path, toPath: keep)
        }
        print("bench: wrote \(archive.imageCount) images, \(archive.fileSize) bytes, index+trailer \(archive.indexAndTrailerBytes) bytes in \(Int(writeTime)) ms")

        var listTimes: [Double] = []
        var lines = 0
        var statistics = ReadStatistics()
        for _ in 0..<7 {
            listTimes.append(try Self.milliseconds {
                let reader = try ArchiveReader.open(path: path)
                var output = ""
                for image in reader.images {
                    output += "\(image.displayName)\t\(image.width)x\(image.height)\tq\(image.quality)\t\(image.latentByteCount)\t\(image.bitsPerPixel)\t\(image.psnr)\n"
                }
                lines = output.count
                statistics = reader.readStatistics
            })
        }
        listTimes.sort()
        print("bench: ls 10,000 images: median \(listTimes[3]) ms, min \(listTimes[0]) ms, max \(listTimes[6]) ms; reads \(statistics.reads), bytes \(statistics.bytes) (\(lines) chars of output)")
        #expect(statistics.reads == 2)
        #expect(listTimes[3] <= 100)

        let reader = try ArchiveReader.open(path: path)
        let before = reader.readStatistics
        var restoreTimes: [Double] = []
        for position in stride(from: 0, to: 10_000, by: 997) {
            restoreTimes.append(try Self.milliseconds { _ = try reader.readImage(at: position) })
        }
        let after = reader.readStatistics
        restoreTimes.sort()
        print("bench: restore one image (container only): median \(restoreTimes[restoreTimes.count / 2]) ms; \(after.reads - before.reads) reads for \(restoreTimes.count) restores")
        let verifyTime = Self.milliseconds { #expect(reader.verify().isIntact) }
        print("bench: verify all \(archive.fileSize) bytes: \(Int(verifyTime)) ms")
        let hashTime = try Self.milliseconds { _ = try SHA256.hash(fileAtPath: path) }
        print("bench: SHA-256 of the archive file: \(Double(archive.fileSize) / hashTime / 1000) MB/s")
        let crcData = [UInt8](repeating: 0x5A, count: 64 << 20)
        let crcTime = Self.milliseconds { _ = CRC32C.checksum(crcData) }
        print("bench: CRC-32C: \(Double(crcData.count) / crcTime / 1000) MB/s")
    }
}
