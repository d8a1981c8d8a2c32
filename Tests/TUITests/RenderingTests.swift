import Imaging
import TUI
import XCTest

final class RenderingTests: XCTestCase {
    func image(_ w: Int, _ h: Int, _ pixels: [(UInt8, UInt8, UInt8)]) -> RGBImage {
        RGBImage(width: w, height: h, pixels: pixels.flatMap { [$0.0, $0.1, $0.2] })
    }

    func testTwoByTwoPixelsGiveTwoHalfBlockCells() {
        // Top row red, green; bottom row blue, green.
        let img = image(2, 2, [(255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 255, 0)])
        let cells = HalfBlockRenderer.render(img, cols: 2, rows: 1)
        XCTAssertEqual(cells.cols, 2)
        XCTAssertEqual(cells.rows, 1)
        let screen = MemoryScreen(rows: 1, cols: 2)
        cells.draw(on: screen, row: 0, col: 0)
        XCTAssertEqual(screen[0, 0].glyph, "▀")
        XCTAssertEqual(screen[0, 0].foreground, RGB(255, 0, 0))
        XCTAssertEqual(screen[0, 0].background, RGB(0, 0, 255))
        XCTAssertEqual(screen[0, 1].glyph, " ", "equal pixels: a space on the background")
        XCTAssertEqual(screen[0, 1].background, RGB(0, 255, 0))
        XCTAssertNil(screen[0, 1].foreground)
        XCTAssertEqual(screen.dumpColors(), "#FF0000/#0000FF -/#00FF00")
    }

    func testFitKeepsAspectRatio() {
        // A 32×32 image in 26 cols × 11 rows: height limits it to 22×22 pixels.
        XCTAssertTrue(HalfBlockRenderer.fittedPixelSize(width: 32, height: 32, cols: 26, rows: 11) == (22, 22))
        // Wide image limited by width.
        XCTAssertTrue(HalfBlockRenderer.fittedPixelSize(width: 64, height: 32, cols: 20, rows: 20) == (20, 10))
        // Upscaling a tiny image.
        XCTAssertTrue(HalfBlockRenderer.fittedPixelSize(width: 4, height: 4, cols: 100, rows: 6) == (12, 12))
        XCTAssertTrue(HalfBlockRenderer.fittedPixelSize(width: 4, height: 4, cols: 0, rows: 6) == (0, 0))
        let r = HalfBlockRenderer.render(RGBImage(width: 32, height: 32, fill: (9, 9, 9)), cols: 26, rows: 11)
        XCTAssertEqual(r.cols, 22)
        XCTAssertEqual(r.rows, 11)
    }

    func testDownscaleAveragesAreasInLinearLight() {
        // 4×2 blocks of black and white halve to 2×1; a uniform block keeps its value.
        let img = image(4, 2, [(0, 0, 0), (255, 255, 255), (10, 20, 30), (10, 20, 30),
                               (255, 255, 255), (0, 0, 0), (10, 20, 30), (10, 20, 30)])
        let small = HalfBlockRenderer.scale(img, width: 2, height: 1)
        XCTAssertEqual(small[0, 0].r, 188, "half black, half white is linear 0.5 = sRGB 188")
        XCTAssertEqual(small[1, 0].r, 10)
        XCTAssertEqual(small[1, 0].g, 20)
        XCTAssertEqual(small[1, 0].b, 30)
    }

    func testFractionalDownscaleWeightsOverlaps() {
        // 3 → 2 pixels: output 0 covers source 0 and half of 1.
        let img = image(3, 1, [(255, 255, 255), (0, 0, 0), (0, 0, 0)])
        let out = HalfBlockRenderer.scale(img, width: 2, height: 1)
        // linear: (1·1 + 0.5·0) / 1.5 = 2/3 → sRGB ≈ 213.
        XCTAssertEqual(Int(out[0, 0].r), 213, accuracy: 1)
        XCTAssertEqual(out[1, 0].r, 0)
    }

    func testUpscaleRepeatsPixels() {
        let img = image(2, 1, [(255, 0, 0), (0, 0, 255)])
        let big = HalfBlockRenderer.scale(img, width: 4, height: 2)
        for y in 0..<2 {
            XCTAssertTrue(big[0, y] == (255, 0, 0) && big[1, y] == (255, 0, 0))
            XCTAssertTrue(big[2, y] == (0, 0, 255) && big[3, y] == (0, 0, 255), "nearest, no blending")
        }
    }

    func testOddHeightLeavesTheLastLowerHalfEmpty() {
        let img = image(1, 3, [(1, 1, 1), (2, 2, 2), (3, 3, 3)])
        let cells = HalfBlockRenderer.cells(of: img)
        XCTAssertEqual(cells.rows, 2)
        XCTAssertEqual(cells[1, 0].top, RGB(3, 3, 3))
        XCTAssertNil(cells[1, 0].bottom)
    }

    func testPlanarFloatsConvert() {
        // [3, 1, 2]: R plane, G plane, B plane.
        let img = RGBImage(planar: [1, 0, 0, 0.5, 0, 2], width: 2, height: 1)
        XCTAssertTrue(img[0, 0] == (255, 0, 0))
        XCTAssertTrue(img[1, 0] == (0, 128, 255), "0.5 rounds to 128; 2 clamps")
        XCTAssertTrue(RGBImage(planar: [.nan, -1, 0], width: 1, height: 1)[0, 0] == (0, 0, 0))
    }
}
