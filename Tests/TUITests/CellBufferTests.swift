import TUI
import XCTest

final class CellBufferTests: XCTestCase {
    func testWritesClipAtTheEdges() {
        let screen = MemoryScreen(rows: 2, cols: 5)
        screen.put("abcdefgh", row: 0, col: 2)
        screen.put("xyz", row: 1, col: -1)
        screen.put("nope", row: 2, col: 0)
        screen.putHalfBlock(row: 5, col: 5, top: RGB(1, 2, 3), bottom: nil)
        XCTAssertEqual(screen.dumpText(), "  abc\nyz   ")
    }

    func testStylesAreKeptPerCell() {
        let screen = MemoryScreen(rows: 1, cols: 4)
        screen.put("ab", row: 0, col: 1, style: Style(foreground: RGB(1, 2, 3), bold: true))
        XCTAssertEqual(screen[0, 1].style.foreground, RGB(1, 2, 3))
        XCTAssertTrue(screen[0, 2].style.bold)
        XCTAssertEqual(screen[0, 0].style, .plain)
        XCTAssertEqual(screen.dumpColors(), "-/- #010203/- #010203/- -/-")
    }

    func testWideCharactersTakeTwoCellsAndAreNeverSplit() {
        let screen = MemoryScreen(rows: 1, cols: 6)
        screen.put("a漢b", row: 0, col: 0)
        XCTAssertEqual(screen[0, 1].glyph, "漢")
        XCTAssertEqual(screen[0, 2].content, .wideTail)
        XCTAssertEqual(screen[0, 3].glyph, "b")
        // Overwriting the tail blanks the head.
        screen.put("x", row: 0, col: 2)
        XCTAssertEqual(screen[0, 1].glyph, " ")
        // A wide character cut by the right edge becomes a space.
        screen.put("字", row: 0, col: 5)
        XCTAssertEqual(screen[0, 5].glyph, " ")
        XCTAssertEqual(displayWidth("a漢"), 3)
    }

    func testControlCharactersAreDropped() {
        let screen = MemoryScreen(rows: 1, cols: 4)
        screen.put("a\u{1B}b\n", row: 0, col: 0)
        XCTAssertEqual(screen.dumpText(), "ab  ")
    }

    func testFindAndFlush() {
        let screen = MemoryScreen(rows: 3, cols: 10)
        screen.put("hello", row: 2, col: 4)
        let found = try! XCTUnwrap(screen.find("llo"))
        XCTAssertTrue(found == (2, 6))
        XCTAssertNil(screen.find("world"))
        XCTAssertNil(screen.flushed)
        screen.flush()
        XCTAssertEqual(screen.flushed, screen.buffer)
        XCTAssertEqual(screen.flushCount, 1)
    }

    func testFormatting() {
        XCTAssertEqual(formatFixed(-90.62, decimals: 1), "−90.6")
        XCTAssertEqual(formatFixed(0.1, decimals: 2, sign: true), "+0.10")
        XCTAssertEqual(formatFixed(-0.001, decimals: 2, sign: true), "0.00", "no sign on a rounded zero")
        XCTAssertEqual(formatFixed(0.005, decimals: 3), "0.005")
        XCTAssertEqual(formatFixed(12, decimals: 0), "12")
        XCTAssertEqual(formatFixed(.infinity, decimals: 1), "∞")
        XCTAssertEqual(formatFixed(.nan, decimals: 1), "nan")
        XCTAssertEqual(formatReadout(nil, decimals: 2), "—")
        XCTAssertEqual(formatStep(-2), "−2")
        XCTAssertEqual(formatStep(3), "+3")
        XCTAssertEqual(truncate("abcdef", width: 4), "abc…")
        XCTAssertEqual(truncate("abc", width: 4), "abc")
    }

    func testSparklineScalesMinToMax() {
        XCTAssertEqual(sparkline([0, 1, 2, 3, 4, 5, 6, 7], width: 20), "▁▂▃▄▅▆▇█")
        XCTAssertEqual(sparkline([5, 5, 5], width: 20), "▁▁▁")
        XCTAssertEqual(sparkline([0, 7, 0, 7], width: 2), "▁█", "the last values when long")
        XCTAssertEqual(sparkline([0, .nan, 1], width: 5), "▁ █")
        XCTAssertEqual(sparkline([], width: 5), "")
    }
}
