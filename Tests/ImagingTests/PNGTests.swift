import CPNG
import Foundation
@testable import Imaging
import Tensors
import XCTest

final class PNGTests: XCTestCase {
    func testRGBRoundTripThroughFile() throws {
        let dir = TempFolder()
        let image = pattern(width: 13, height: 7)
        try PNG.write(image, to: dir.file("a.png"))
        XCTAssertEqual(try PNG.read(dir.file("a.png")), image)
        XCTAssertEqual(dir.contents, ["a.png"], "no temporary file left behind")
    }

    func testGrayRoundTripReadsAsReplicatedRGB() throws {
        let dir = TempFolder()
        let gray = GrayImage(width: 16, height: 16, pixels: (0..<256).map { UInt8($0) })
        try PNG.write(gray, to: dir.file("g.png"))
        let back = try PNG.read(dir.file("g.png"))
        XCTAssertEqual(back, RGBImage(gray))
        XCTAssertEqual(GrayImage(back), gray)
    }

    func testWriteReplacesAnExistingFile() throws {
        let dir = TempFolder()
        try PNG.write(pattern(width: 4, height: 4, seed: 1), to: dir.file("a.png"))
        let second = pattern(width: 5, height: 3, seed: 2)
        try PNG.write(second, to: dir.file("a.png"))
        XCTAssertEqual(try PNG.read(dir.file("a.png")), second)
        XCTAssertEqual(dir.contents, ["a.png"])
    }

    func testWriteIntoMissingFolderFailsCleanly() {
        let dir = TempFolder()
        XCTAssertThrowsError(try PNG.write(pattern(width: 2, height: 2), to: dir.file("missing/a.png"))) { error in
            guard let error = error as? FileWriteError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.path, dir.file("missing/a.png"))
            XCTAssertTrue(error.message.contains("No such file"), error.message)
        }
        XCTAssertEqual(dir.contents, [])
    }

    func testZeroSizedImageCarriesLibpngMessage() {
        XCTAssertThrowsError(try PNG.encode(RGBImage(width: 0, height: 3))) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot encode PNG"), "\(error)")
        }
    }

    func testTextChunksAreInsertedBeforeIENDWithValidCRC() throws {
        let dir = TempFolder()
        let image = pattern(width: 3, height: 2)
        let path = dir.file("meta.png")
        try PNG.write(image, to: path, metadata: [("latent-tui", "seed=7"), ("Comment", "z₀ walk ε=0.5")])
        let bytes = try AtomicFile.read(path)
        XCTAssertEqual(Array(bytes.suffix(12)), [0, 0, 0, 0] + Array("IEND".utf8) + PNG.bigEndian(0xAE42_6082))
        let entries = try PNG.textEntries(path)
        XCTAssertEqual(entries.map(\.key), ["latent-tui", "Comment"])
        XCTAssertEqual(entries.map(\.value), ["seed=7", "z₀ walk ε=0.5"])
        // libpng verifies ancillary CRCs too: a bad one would be a warning.
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        XCTAssertNotEqual(bytes.withUnsafeBytes { png_image_begin_read_from_memory(&png, $0.baseAddress, $0.count) }, 0)
        png.format = UInt32(PNG_FORMAT_RGB)
        var out = [UInt8](repeating: 0, count: 18)
        XCTAssertNotEqual(png_image_finish_read(&png, nil, &out, 0, nil), 0)
        XCTAssertEqual(png.warning_or_error, 0, PNG.message(of: &png))
        XCTAssertEqual(try PNG.read(path), image)
    }

    func testInvalidTextKeyIsRejected() {
        XCTAssertThrowsError(try PNG.encode(pattern(width: 1, height: 1), metadata: [(" bad", "x")]))
        XCTAssertThrowsError(try PNG.encode(pattern(width: 1, height: 1), metadata: [("", "x")]))
    }

    func testCRC32CheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([]), 0)
    }

    func testTensorOfPNGIsCHWInUnitRange() throws {
        let dir = TempFolder()
        var image = RGBImage(width: 2, height: 1)
        image[0, 0] = (255, 0, 51)
        image[1, 0] = (0, 255, 102)
        try PNG.write(image, to: dir.file("t.png"))
        let t = try PNG.readTensor(dir.file("t.png"))
        XCTAssertEqual(t.shape, [3, 1, 2])
        for (a, b) in zip(t.storage, [1, 0, 0, 1, 0.2, 0.4] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    // MARK: every colour type and bit depth

    func read(_ bytes: [UInt8], _ name: String = "x.png") throws -> RGBImage {
        try PNG.decode(bytes, file: name)
    }

    func testGrayLowBitDepthsScaleToFullRange() throws {
        for depth: UInt8 in [1, 2, 4] {
            let top = (1 << Int(depth)) - 1
            let samples = (0..<10).map { $0 % (top + 1) } // 10 px: rows end mid-byte
            let png = PNGBuilder.make(width: 5, height: 2, colorType: 0, bitDepth: depth, samples: samples)
            let image = try read(png)
            XCTAssertEqual((image.width, image.height).0, 5)
            for (i, s) in samples.enumerated() {
                let expected = UInt8(s * 255 / top)
                XCTAssertEqual(image.pixels[3 * i], expected, "depth \(depth) pixel \(i)")
                XCTAssertEqual(image.pixels[3 * i + 1], expected)
                XCTAssertEqual(image.pixels[3 * i + 2], expected)
            }
        }
    }

    func testGray8AndRGB8AreExact() throws {
        let gray = try read(PNGBuilder.make(width: 3, height: 1, colorType: 0, bitDepth: 8, samples: [0, 77, 255]))
        XCTAssertEqual(gray.pixels, [0, 0, 0, 77, 77, 77, 255, 255, 255])
        let rgb = try read(PNGBuilder.make(width: 2, height: 1, colorType: 2, bitDepth: 8, samples: [1, 2, 3, 250, 128, 0]))
        XCTAssertEqual(rgb.pixels, [1, 2, 3, 250, 128, 0])
    }

    func testSixteenBitWithoutGammaIsTakenAsSRGB() throws {
        let samples = [0, 0x8080, 0xFFFF, 0x1234, 0xFEDC, 0x4000]
        let gray = try read(PNGBuilder.make(width: 6, height: 1, colorType: 0, bitDepth: 16, samples: samples))
        let rgb = try read(PNGBuilder.make(width: 2, height: 1, colorType: 2, bitDepth: 16, samples: samples))
        for (i, s) in samples.enumerated() {
            let expected = Double(s) / 257
            XCTAssertEqual(Double(gray.pixels[3 * i]), expected, accuracy: 1, "grey16 sample \(i)")
            XCTAssertEqual(Double(rgb.pixels[i]), expected, accuracy: 1, "rgb16 sample \(i)")
        }
    }

    func testLinearSixteenBitFromLibpngIsConvertedToSRGB() throws {
        // libpng's linear formats write 16-bit files tagged gAMA 1.0.
        let linear: [UInt16] = [0, 65535, 32768, 0, 65535, 13107]
        let png = try linear.withUnsafeBytes {
            try PNG.encode(width: 2, height: 1, format: UInt32(PNG_FORMAT_LINEAR_RGB), pixels: $0)
        }
        let image = try read(png)
        for (i, v) in linear.enumerated() {
            let l = Double(v) / 65535
            let srgb = l <= 0.0031308 ? 12.92 * l : 1.055 * pow(l, 1 / 2.4) - 0.055
            // libpng's 16-to-8-bit sRGB tables are within 2 levels of the formula.
            XCTAssertEqual(Double(image.pixels[i]), srgb * 255, accuracy: 2, "sample \(i)")
        }
        let y: [UInt16] = [0, 65535]
        let grayPNG = try y.withUnsafeBytes {
            try PNG.encode(width: 2, height: 1, format: UInt32(PNG_FORMAT_LINEAR_Y), pixels: $0)
        }
        XCTAssertEqual(try read(grayPNG).pixels, [0, 0, 0, 255, 255, 255])
    }

    /// Expected 8-bit result of compositing sRGB `v` with `alpha` over black in linear light.
    func overBlack(_ v: Int, _ alpha: Double) -> Double {
        let c = Double(v) / 255
        let l = (c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)) * alpha
        return 255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * pow(l, 1 / 2.4) - 0.055)
    }

    func testGrayAlphaIsCompositedOverBlack() throws {
        for depth: UInt8 in [8, 16] {
            let scale = depth == 16 ? 257 : 1
            let samples = [200, 255, 200, 0, 200, 128, 255, 255].map { $0 * scale }
            let image = try read(PNGBuilder.make(width: 4, height: 1, colorType: 4, bitDepth: depth, samples: samples))
            XCTAssertEqual(image[0, 0].r, 200, "opaque, depth \(depth)")
            XCTAssertEqual(image[1, 0].r, 0, "transparent, depth \(depth)")
            XCTAssertEqual(Double(image[2, 0].r), overBlack(200, 128.0 / 255), accuracy: 2, "half, depth \(depth)")
            XCTAssertEqual(image[3, 0].g, 255)
            XCTAssertEqual(image[2, 0].r, image[2, 0].b)
        }
        // The same through libpng's writer (PNG_FORMAT_GA).
        let ga: [UInt8] = [10, 255, 90, 0]
        let png = try ga.withUnsafeBytes { try PNG.encode(width: 2, height: 1, format: UInt32(PNG_FORMAT_GA), pixels: $0) }
        XCTAssertEqual(try read(png).pixels, [10, 10, 10, 0, 0, 0])
    }

    func testRGBAIsCompositedOverBlack() throws {
        for depth: UInt8 in [8, 16] {
            let scale = depth == 16 ? 257 : 1
            let samples = [10, 20, 30, 255, 255, 255, 255, 0, 255, 100, 50, 128].map { $0 * scale }
            let image = try read(PNGBuilder.make(width: 3, height: 1, colorType: 6, bitDepth: depth, samples: samples))
            XCTAssertTrue(image[0, 0] == (10, 20, 30), "depth \(depth): \(image[0, 0])")
            XCTAssertTrue(image[1, 0] == (0, 0, 0))
            // Linear light: 100 at half coverage gives ≈ 72, not the 50 of sRGB arithmetic.
            XCTAssertEqual(Double(image[2, 0].r), overBlack(255, 128.0 / 255), accuracy: 3)
            XCTAssertEqual(Double(image[2, 0].g), overBlack(100, 128.0 / 255), accuracy: 3)
        }
    }

    func testPaletteImagesOfEveryDepthWithAndWithoutTransparency() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 8, 7)]
        for depth: UInt8 in [1, 2, 4, 8] {
            let entries = min(palette.count, 1 << Int(depth))
            let samples = (0..<9).map { $0 % entries }
            let png = PNGBuilder.make(width: 3, height: 3, colorType: 3, bitDepth: depth, samples: samples,
                                      palette: Array(palette.prefix(entries)))
            let image = try read(png)
            for (i, s) in samples.enumerated() {
                XCTAssertTrue(image[i % 3, i / 3] == palette[s], "depth \(depth) pixel \(i)")
            }
        }
        // tRNS: entry 1 fully transparent → black.
        let png = PNGBuilder.make(width: 2, height: 1, colorType: 3, bitDepth: 8, samples: [0, 1],
                                  palette: palette, transparency: [255, 0])
        XCTAssertEqual(try read(png).pixels, [255, 0, 0, 0, 0, 0])
        // And libpng's own colour-mapped writer.
        let indices: [UInt8] = [3, 2, 1, 0]
        let map: [UInt8] = palette.flatMap { [$0.0, $0.1, $0.2] }
        let mapped = try indices.withUnsafeBytes { px in
            try map.withUnsafeBytes { cm in
                try PNG.encode(width: 2, height: 2, format: UInt32(PNG_FORMAT_RGB) | UInt32(PNG_FORMAT_FLAG_COLORMAP), pixels: px,
                               colormap: cm, colormapEntries: 4)
            }
        }
        XCTAssertEqual(try read(mapped).pixels, [9, 8, 7, 0, 0, 255, 0, 255, 0, 255, 0, 0])
    }

    // MARK: broken input

    func testCorruptInputsAreBadImageErrors() throws {
        let dir = TempFolder()
        let good = try PNG.encode(pattern(width: 8, height: 8))
        var cases: [(String, [UInt8])] = [
            ("empty.png", []),
            ("garbage.png", Array("this is not a PNG at all, just text".utf8)),
            ("signature-only.png", PNG.signature),
            ("truncated-header.png", Array(good.prefix(20))),
            ("truncated-data.png", Array(good.prefix(good.count / 2))),
        ]
        var badIHDR = good
        badIHDR[29] ^= 0xFF // IHDR CRC
        cases.append(("ihdr-crc.png", badIHDR))
        var badIDAT = good
        badIDAT[good.count - 12 - 1] ^= 0x55 // last byte of the IDAT CRC
        cases.append(("idat-crc.png", badIDAT))
        var badData = PNGBuilder.make(width: 4, height: 4, colorType: 0, bitDepth: 8, samples: Array(repeating: 7, count: 16))
        badData[badData.count - 12 - 4 - 3] ^= 0xFF // inside the zlib stream (Adler-32), CRC left stale
        cases.append(("zlib.png", badData))
        let hugeHeader = PNGBuilder.make(width: 1, height: 1, colorType: 0, bitDepth: 8, samples: [0])
        var huge = Array(hugeHeader.prefix(16)) + PNG.bigEndian(0x7FFF_FFFF) + PNG.bigEndian(0x7FFF_FFFF)
        huge += [8, 0, 0, 0, 0]
        huge += PNG.bigEndian(CRC32.checksum(Array(huge[12...])))
        huge += hugeHeader[33...]
        cases.append(("huge.png", huge))
        var large = Array(hugeHeader.prefix(16)) + PNG.bigEndian(20000) + PNG.bigEndian(20000) + [8, 0, 0, 0, 0]
        large += PNG.bigEndian(CRC32.checksum(Array(large[12...])))
        large += hugeHeader[33...]
        cases.append(("large.png", large)) // within libpng's limits, above ours
        let badDepth = PNGBuilder.make(width: 1, height: 1, colorType: 2, bitDepth: 4, samples: [1, 2, 3])
        cases.append(("bad-depth.png", badDepth))

        for (name, bytes) in cases {
            let path = dir.file(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            assertInputError(.badImage, file: path, name) { try PNG.read(path) }
        }
        assertInputError(.badImage, file: dir.file("missing.png")) { try PNG.read(dir.file("missing.png")) }
        assertInputError(.badImage, file: dir.path) { try PNG.read(dir.path) }
    }

    func testMissingIENDIsAcceptedWhenEveryPixelIsThere() throws {
        // libpng stops after the last row's CRC-checked IDAT, as browsers do.
        let image = pattern(width: 6, height: 3)
        XCTAssertEqual(try PNG.decode(Array(try PNG.encode(image).dropLast(12)), file: "x.png"), image)
    }

    func testEveryTruncationIsAnErrorNeverACrash() throws {
        let good = try PNG.encode(pattern(width: 5, height: 4))
        for length in 0..<good.count - 12 { // without IEND libpng still has all pixels
            XCTAssertThrowsError(try PNG.decode(Array(good.prefix(length)), file: "t.png"), "length \(length)")
        }
        var flipped = 0
        for i in 8..<good.count { // flip every byte: error or a valid image, never a trap
            var bytes = good
            bytes[i] ^= 0xA5
            if (try? PNG.decode(bytes, file: "f.png")) == nil { flipped += 1 }
        }
        XCTAssertGreaterThan(flipped, 0)
    }
}
