import CGIF
import Foundation
@testable import Imaging
import XCTest

/// What giflib's DGifSlurp finds in a file.
struct DecodedGIF {
    var width = 0, height = 0
    var frames: [RGBImage] = []
    var delays: [Int] = []
    var loopCount: Int?

    init(path: String) throws {
        var error: Int32 = 0
        guard let gif = DGifOpenFileName(path, &error) else { throw GIFDecodeFailure(code: error) }
        defer { DGifCloseFile(gif, &error) }
        guard DGifSlurp(gif) == GIF_OK else { throw GIFDecodeFailure(code: gif.pointee.Error) }
        width = Int(gif.pointee.SWidth)
        height = Int(gif.pointee.SHeight)
        for i in 0..<Int(gif.pointee.ImageCount) {
            let saved = gif.pointee.SavedImages[i]
            let desc = saved.ImageDesc
            guard let map = desc.ColorMap ?? gif.pointee.SColorMap else { throw GIFDecodeFailure(code: -1) }
            var image = RGBImage(width: width, height: height)
            for y in 0..<Int(desc.Height) {
                for x in 0..<Int(desc.Width) {
                    let c = map.pointee.Colors[Int(saved.RasterBits[y * Int(desc.Width) + x])]
                    image[Int(desc.Left) + x, Int(desc.Top) + y] = (c.Red, c.Green, c.Blue)
                }
            }
            frames.append(image)
            var gcb = GraphicsControlBlock()
            if DGifSavedExtensionToGCB(gif, Int32(i), &gcb) == GIF_OK { delays.append(Int(gcb.DelayTime)) }
            for e in 0..<Int(saved.ExtensionBlockCount) {
                let block = saved.ExtensionBlocks[e]
                guard block.Function == APPLICATION_EXT_FUNC_CODE, block.ByteCount == 11,
                      String(decoding: UnsafeBufferPointer(start: block.Bytes, count: 11), as: UTF8.self) == "NETSCAPE2.0",
                      e + 1 < Int(saved.ExtensionBlockCount) else { continue }
                let sub = saved.ExtensionBlocks[e + 1]
                if sub.ByteCount == 3 && sub.Bytes[0] == 1 { loopCount = Int(sub.Bytes[1]) | Int(sub.Bytes[2]) << 8 }
            }
        }
    }
}

struct GIFDecodeFailure: Error { let code: Int32 }

final class GIFTests: XCTestCase {
    func testRoundTripWithFewColoursIsExact() throws {
        let dir = TempFolder()
        let frames = (0..<5).map { i -> RGBImage in
            var f = RGBImage(width: 7, height: 5, fill: (20, 30, 40))
            for y in 0..<5 { f[(i + y) % 7, y] = (255, UInt8(i * 50), 0) }
            return f
        }
        let path = dir.file("walk.gif")
        try writeGIF(frames, delayCentiseconds: 12, loop: true, to: path)
        XCTAssertEqual(dir.contents, ["walk.gif"])
        let gif = try DecodedGIF(path: path)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(6)), Array("GIF89a".utf8))
        XCTAssertEqual(gif.width, 7)
        XCTAssertEqual(gif.height, 5)
        XCTAssertEqual(gif.frames, frames)
        XCTAssertEqual(gif.delays, [12, 12, 12, 12, 12])
        XCTAssertEqual(gif.loopCount, 0)
    }

    func testNoLoopExtensionWhenPlayingOnce() throws {
        let dir = TempFolder()
        try writeGIF([pattern(width: 3, height: 3)], delayCentiseconds: 5, loop: false, to: dir.file("once.gif"))
        let gif = try DecodedGIF(path: dir.file("once.gif"))
        XCTAssertNil(gif.loopCount)
        XCTAssertEqual(gif.frames.count, 1)
        XCTAssertEqual(gif.delays, [5])
    }

    func testManyColoursAreQuantizedCloselyWithOneSharedPalette() throws {
        let dir = TempFolder()
        // A smooth 64×64 gradient, shifted per frame: 4096+ colours.
        let frames = (0..<3).map { shift -> RGBImage in
            var f = RGBImage(width: 64, height: 64)
            for y in 0..<64 { for x in 0..<64 { f[x, y] = (UInt8(x * 4), UInt8(y * 4), UInt8((x + y + shift * 10) * 2 % 256)) } }
            return f
        }
        let path = dir.file("many.gif")
        try writeGIF(frames, delayCentiseconds: 4, loop: true, to: path)
        let gif = try DecodedGIF(path: path)
        XCTAssertEqual(gif.frames.count, 3)
        var total = 0.0, count = 0.0
        for (a, b) in zip(frames, gif.frames) {
            for (p, q) in zip(a.pixels, b.pixels) { total += Double(abs(Int(p) - Int(q))); count += 1 }
        }
        XCTAssertLessThan(total / count, 8, "mean absolute error per channel")
        // Pixels equal across frames stay equal (no dithering): column x, row y at shift 0 and 1 share R and G.
        let distinct = Set(gif.frames.flatMap { f in stride(from: 0, to: f.pixels.count, by: 3).map { f.pixels[$0] << 0 } })
        XCTAssertGreaterThan(distinct.count, 1)
    }

    func testSamePixelsMapToSameIndexInEveryFrame() throws {
        let dir = TempFolder()
        var a = pattern(width: 40, height: 40, seed: 1) // > 256 colours
        var b = a
        for x in 0..<10 { b[x, 0] = (0, 0, 0); a[x, 39] = (255, 255, 255) }
        try writeGIF([a, b], delayCentiseconds: 10, loop: true, to: dir.file("s.gif"))
        let gif = try DecodedGIF(path: dir.file("s.gif"))
        for y in 1..<39 { for x in 0..<40 { XCTAssertTrue(gif.frames[0][x, y] == gif.frames[1][x, y]) } }
    }

    func testBadArgumentsAreErrorsNotCrashes() {
        let dir = TempFolder()
        let f = pattern(width: 2, height: 2)
        XCTAssertThrowsError(try writeGIF([], delayCentiseconds: 5, loop: true, to: dir.file("a.gif")))
        XCTAssertThrowsError(try writeGIF([f], delayCentiseconds: -1, loop: true, to: dir.file("a.gif")))
        XCTAssertThrowsError(try writeGIF([f], delayCentiseconds: 70000, loop: true, to: dir.file("a.gif")))
        XCTAssertThrowsError(try writeGIF([f, pattern(width: 3, height: 2)], delayCentiseconds: 5, loop: true, to: dir.file("a.gif"))) {
            XCTAssertTrue("\($0)".contains("frame 1 is 3×2"), "\($0)")
        }
        XCTAssertThrowsError(try writeGIF([f], delayCentiseconds: 5, loop: true, to: dir.file("no/such/a.gif")))
        XCTAssertEqual(dir.contents, [])
    }

    func testMedianCutKeepsDistinctClusters() {
        // Four well-separated clusters with noise: each gets its own entries.
        var pixels: [UInt8] = []
        let centres: [(Int, Int, Int)] = [(20, 20, 20), (230, 30, 30), (30, 230, 30), (30, 30, 230)]
        for i in 0..<4000 {
            let c = centres[i % 4]
            let n = (i * 7919) % 17 - 8
            pixels += [UInt8(c.0 + n), UInt8(c.1 - n), UInt8(c.2 + n / 2)]
        }
        let image = RGBImage(width: 4000, height: 1, pixels: pixels)
        let colors = Palette.medianCut([image], maxColors: 4)
        XCTAssertEqual(colors.count, 4)
        for c in centres {
            XCTAssertTrue(colors.contains { abs(Int($0.0) - c.0) + abs(Int($0.1) - c.1) + abs(Int($0.2) - c.2) < 12 }, "\(c) in \(colors)")
        }
    }
}
