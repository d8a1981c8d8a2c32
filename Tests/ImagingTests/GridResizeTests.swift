@testable import Imaging
import XCTest

final class GridTests: XCTestCase {
    func testGeometryWithGapAroundAndBetween() {
        let images = (0..<5).map { RGBImage(width: 4, height: 3, fill: (UInt8(10 * ($0 + 1)), 0, 0)) }
        let g = grid(images, columns: 3, gap: 2, background: (1, 2, 3))
        XCTAssertEqual(g.width, 3 * 4 + 4 * 2)
        XCTAssertEqual(g.height, 2 * 3 + 3 * 2)
        XCTAssertTrue(g[0, 0] == (1, 2, 3))
        XCTAssertTrue(g[2, 2] == (10, 0, 0))         // first cell's top-left
        XCTAssertTrue(g[5, 4] == (10, 0, 0))         // first cell's bottom-right
        XCTAssertTrue(g[6, 2] == (1, 2, 3))          // gap after it
        XCTAssertTrue(g[8, 2] == (20, 0, 0))         // second cell
        XCTAssertTrue(g[14, 2] == (30, 0, 0))        // third cell
        XCTAssertTrue(g[2, 7] == (40, 0, 0))         // second row
        XCTAssertTrue(g[8, 7] == (50, 0, 0))
        XCTAssertTrue(g[14, 7] == (1, 2, 3))         // empty last cell
        XCTAssertTrue(g[19, 11] == (1, 2, 3))        // border
    }

    func testColumnsCappedAtCountAndZeroGap() {
        let a = pattern(width: 3, height: 2, seed: 1), b = pattern(width: 3, height: 2, seed: 2)
        let g = grid([a, b], columns: 8, gap: 0)
        XCTAssertEqual(g.width, 6)
        XCTAssertEqual(g.height, 2)
        XCTAssertEqual(g.cropped(x: 0, y: 0, width: 3, height: 2), a)
        XCTAssertEqual(g.cropped(x: 3, y: 0, width: 3, height: 2), b)
        XCTAssertEqual(grid([a], columns: 1, gap: 0), a)
    }
}

final class ResizeTests: XCTestCase {
    func testCenterCropSquare() {
        let wide = pattern(width: 7, height: 4)
        XCTAssertEqual(wide.centerCropSquare(), wide.cropped(x: 1, y: 0, width: 4, height: 4))
        let tall = pattern(width: 3, height: 6)
        XCTAssertEqual(tall.centerCropSquare(), tall.cropped(x: 0, y: 1, width: 3, height: 3))
        XCTAssertEqual(pattern(width: 5, height: 5).centerCropSquare(), pattern(width: 5, height: 5))
    }

    func testConstantImageStaysConstant() {
        let flat = RGBImage(width: 37, height: 23, fill: (200, 17, 99))
        for (w, h) in [(10, 10), (64, 64), (37, 5), (100, 23), (3, 71), (1, 1)] {
            for linear in [false, true] {
                XCTAssertEqual(flat.resized(width: w, height: h, linearLight: linear),
                               RGBImage(width: w, height: h, fill: (200, 17, 99)), "\(w)×\(h) linear \(linear)")
            }
        }
    }

    func checkerboard(_ size: Int) -> RGBImage {
        var image = RGBImage(width: size, height: size)
        for y in 0..<size { for x in 0..<size where (x + y) % 2 == 0 { image[x, y] = (255, 255, 255) } }
        return image
    }

    func testCheckerboardDownscaleAverages() {
        let board = checkerboard(8)
        XCTAssertEqual(board.resized(to: 4), RGBImage(width: 4, height: 4, fill: (128, 128, 128)))
        XCTAssertEqual(board.resized(to: 1), RGBImage(width: 1, height: 1, fill: (128, 128, 128)))
        // In linear light, half the light is sRGB 0.735 → 188.
        XCTAssertEqual(board.resized(to: 4, linearLight: true), RGBImage(width: 4, height: 4, fill: (188, 188, 188)))
        // A non-integer factor still averages (every output covers 1.6 × 1.6 source pixels).
        let odd = checkerboard(40).resized(to: 25)
        for v in odd.pixels { XCTAssertEqual(Double(v), 127.5, accuracy: 40) }
        XCTAssertEqual(Double(odd.pixels.map(Int.init).reduce(0, +)) / Double(odd.pixels.count), 127.5, accuracy: 3)
    }

    func testAreaAverageOfBlocks() {
        // 4×2 → 2×1: each output averages a 2×2 block.
        let image = RGBImage(width: 4, height: 2, pixels: [
            0, 0, 0, 10, 10, 10, 100, 0, 0, 200, 0, 0,
            20, 20, 20, 30, 30, 30, 100, 0, 0, 201, 0, 0,
        ])
        XCTAssertEqual(image.resized(width: 2, height: 1).pixels, [15, 15, 15, 150, 0, 0])
    }

    func testUpscaleIsBilinearWithClampedEdges() {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 200, 100, 40])
        let up = image.resized(width: 4, height: 1)
        // Source positions: -0.25→0 (clamped), 0.25, 0.75, 1.25→1 (clamped).
        XCTAssertEqual(up.pixels, [0, 0, 0, 50, 25, 10, 150, 75, 30, 200, 100, 40])
        XCTAssertEqual(image.resized(width: 2, height: 3).pixels, Array(repeating: image.pixels, count: 3).flatMap { $0 })
    }

    func testSameSizeIsIdentity() {
        let image = pattern(width: 9, height: 4)
        XCTAssertEqual(image.resized(width: 9, height: 4), image)
    }
}
