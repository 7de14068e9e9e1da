import Testing
@testable import NacreDaemon

/// `nacre ctl`'s human rendering of the collection replies (shapes from docs/PROTOCOL.md).
@Suite("Collection reply formatting")
struct CollectionReplyFormatterTests {
    private let listResult: JSONValue = [
        "images": [["id": 12, "name": "cat.png", "archive": "batch-0001", "width": 96, "height": 64,
                    "original_bytes": 15_000, "latent_bytes": 400, "bpp": 0.52, "psnr_db": 31.234, "encoded_at": "2026-11-23T21:45:30Z"],
                   ["id": 3, "name": "a-much-longer-name.png", "archive": "b2", "width": 640, "height": 480,
                    "original_bytes": 1_500_000, "latent_bytes": 9000, "bpp": 0.234, "psnr_db": 29.5, "encoded_at": "2026-11-22T08:00:00Z"]],
        "count": 2, "total": 7, "next": "3",
    ]

    @Test func listIsATableWithAFooter() {
        let lines = ReplyFormatter.human(listResult, command: .list).split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("ID  NAME "))
        // Columns line up: the ARCHIVE column starts at the same place in every row.
        let column = lines[0].range(of: "ARCHIVE")!.lowerBound.utf16Offset(in: lines[0])
        #expect(lines[1].dropFirst(column).hasPrefix("batch-0001"))
        #expect(lines[2].dropFirst(column).hasPrefix("b2"))
        #expect(lines[1].contains("96×64") && lines[1].contains("15.0 KB") && lines[1].contains("31.23"))
        #expect(lines[3] == "2 of 7 images; next page: add cursor=3")
        // Recognised without being told the command (what `nacre ctl` passes today).
        #expect(ReplyFormatter.human(listResult) == ReplyFormatter.human(listResult, command: .list))
        #expect(ReplyFormatter.human(["images": [], "count": 0, "total": 0, "next": nil], command: .search) == "no images match\n0 of 0 images")
    }

    @Test func restoreStatsAndVerifyAreOneLiners() {
        let restore: JSONValue = ["path": "/r/cat.png", "bytes": 2_345_678, "psnr_db": 31.5, "image": "cat.png", "mode": "rgb8",
                                  "width": 1280, "height": 800, "elapsed_ms": 120.4, "archive": "b1", "id": 1, "ms_ssim": nil]
        #expect(ReplyFormatter.human(restore) == "restored cat.png → /r/cat.png (2.3 MB, rgb8 1280×800, PSNR at encode 31.50 dB, 120 ms)")
        let stats: JSONValue = ["images": 10, "archives": 2, "bytes_in": 20_000_000, "bytes_out": 1_000_000, "ratio": 20.0,
                                "bpp": 0.4321, "mean_psnr_db": 32.1, "per_model": [["model": "0123456789abcdef0123", "archives": 2, "images": 10, "bytes_in": 20_000_000]]]
        #expect(ReplyFormatter.human(stats) == """
            10 images in 2 archives: 20.0 MB in, 1.0 MB out (ratio 20.00), 0.432 bpp, mean PSNR 32.10 dB
              model 0123456789ab: 2 archives, 10 images, 20.0 MB in
            """)
        let verify: JSONValue = ["archives": [["id": "b1", "ok": true, "images": 4, "damaged_images": [], "problems": []],
                                              ["id": "b2", "ok": false, "images": 3, "damaged_images": ["x.png"], "problems": []]],
                                 "checked": 2, "damaged": 1, "remaining": 5, "next": "b2"]
        #expect(ReplyFormatter.human(verify) == """
            ok      b1: 4 images
            DAMAGED b2: 3 images, 1 unreadable: x.png
            verified 2 archives: 1 ok, 1 damaged; 5 more: add after=b2
            """)
    }

    @Test func infoIsKeyValueAndOthersStayGeneric() {
        let info: JSONValue = ["name": "cat.png", "id": 4, "original_sha256": "ab", "psnr_db": 30.5, "ms_ssim": nil]
        let lines = ReplyFormatter.human(info).split(separator: "\n").map(String.init)
        #expect(lines.first == "name:            cat.png")
        #expect(lines.contains("ms_ssim:         -"))
        #expect(ReplyFormatter.human(["pid": 3, "version": "x"]) == "pid: 3\nversion: x")
    }
}

