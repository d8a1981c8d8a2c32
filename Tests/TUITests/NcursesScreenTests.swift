#if canImport(Glibc)
import Glibc
#endif
import CNcurses
import TUI
import XCTest

/// Drives `NcursesScreen` through a pseudo-terminal and checks the bytes
/// it writes: colour sequences per mode, the direct-colour nudge, cell
/// diffing between frames, and key decoding. No real terminal involved.
final class NcursesScreenTests: XCTestCase {
    var master: Int32 = -1
    var slave: Int32 = -1

    override func setUpWithError() throws {
        guard latent_open_pty(&master, &slave, 6, 20) == 0 else { throw XCTSkip("no pseudo-terminals here") }
    }

    override func tearDown() {
        if slave >= 0 { close(slave) }
        if master >= 0 { close(master) }
    }

    /// Everything written to the terminal since the last call.
    func drain(timeoutMilliseconds: Int32 = 100) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        while poll(&pfd, 1, timeoutMilliseconds) > 0 {
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func open(_ env: [String: String], type: String? = nil) throws -> NcursesScreen {
        try NcursesScreen(terminalType: type, input: slave, output: slave, environment: env, locale: "C.UTF-8")
    }

    func testPalette256WritesCubeIndicesAndHalfBlocks() throws {
        let screen = try open(["TERM": "xterm-256color"])
        defer { screen.close() }
        XCTAssertEqual(screen.colorMode, .palette256)
        XCTAssertTrue(screen.unicode)
        XCTAssertEqual(screen.size, TerminalSize(rows: 6, cols: 20))
        _ = drain()
        screen.clear()
        screen.putHalfBlock(row: 0, col: 0, top: RGB(255, 0, 0), bottom: RGB(0, 0, 255))
        screen.put("hi", row: 1, col: 0, style: Style(bold: true))
        screen.flush()
        let out = drain()
        XCTAssertTrue(out.contains("38;5;196"), out.debugDescription)
        XCTAssertTrue(out.contains("48;5;21"), out.debugDescription)
        XCTAssertTrue(out.contains("▀"))
        XCTAssertTrue(out.contains("hi"))
    }

    func testUnchangedFramesWriteNoCells() throws {
        let screen = try open(["TERM": "xterm-256color"])
        defer { screen.close() }
        func frame(_ text: String) {
            screen.clear()
            for c in 0..<20 { screen.putHalfBlock(row: 2, col: c, top: RGB(UInt8(c * 12), 80, 80), bottom: RGB(9, 9, 200)) }
            screen.put(text, row: 0, col: 0)
        }
        frame("first")
        screen.flush()
        _ = drain()
        frame("first")
        screen.flush()
        XCTAssertFalse(drain().contains("▀"), "an identical frame resends nothing")
        frame("other")
        screen.flush()
        let out = drain()
        XCTAssertTrue(out.contains("other"))
        XCTAssertFalse(out.contains("▀"), "only the changed text goes out")
    }

    func testTruecolorThroughXtermDirectWithTheLowValueNudge() throws {
        let screen = try open(["TERM": "xterm-256color", "COLORTERM": "truecolor"])
        defer { screen.close() }
        guard screen.colorMode == .direct else { throw XCTSkip("no xterm-direct terminfo entry (ncurses-term)") }
        XCTAssertTrue(screen.directColorValues)
        _ = drain()
        screen.clear()
        screen.putHalfBlock(row: 0, col: 0, top: RGB(0, 0, 1), bottom: RGB(18, 52, 86))
        screen.flush()
        let out = drain()
        XCTAssertTrue(out.contains("38:2::0:1:1"), "#000001 nudged to #000101, not palette 1: \(out.debugDescription)")
        XCTAssertTrue(out.contains("48:2::18:52:86"), out.debugDescription)
    }

    /// Pair ids above 32767 do not fit setcchar's short argument; they go
    /// through its opts pointer. 280 frames of 120 new colours each push
    /// the ids past 33 000; the last frame must still show its own colours.
    func testPairIdsBeyondTheShortRangeKeepTheirColours() throws {
        let screen = try open(["TERM": "xterm-256color", "COLORTERM": "truecolor"])
        defer { screen.close() }
        guard screen.colorMode == .direct else { throw XCTSkip("no xterm-direct terminfo entry (ncurses-term)") }
        func colour(_ k: Int) -> RGB { RGB(UInt8((k >> 16) & 255), UInt8((k >> 8) & 255), UInt8(k & 255)) }
        var k = 4096
        var out = ""
        for _ in 0..<280 {
            screen.clear()
            for r in 0..<6 {
                for c in 0..<20 {
                    screen.putHalfBlock(row: r, col: c, top: colour(k), bottom: colour(k))
                    k += 1
                }
            }
            screen.flush()
            out = drain(timeoutMilliseconds: 0)
        }
        for j in (k - 120)..<k {
            let c = colour(j)
            XCTAssertTrue(out.contains("48:2::\(c.r):\(c.g):\(c.b)m"), "cell colour \(c) missing in the last frame")
        }
    }

    /// When the pair table is used up (65 535 truecolor pairs: about 550
    /// frames of 120 new colours here), the screen starts the table over
    /// and rewrites every cell in place: no clear-screen (a blank flash),
    /// every cell of that frame in its own colours, diffing intact after.
    func testRunningOutOfPairsRewritesInPlaceWithoutClearing() throws {
        let screen = try open(["TERM": "xterm-256color", "COLORTERM": "truecolor"])
        defer { screen.close() }
        guard screen.colorMode == .direct else { throw XCTSkip("no xterm-direct terminfo entry (ncurses-term)") }
        func colour(_ k: Int) -> RGB { RGB(UInt8((k >> 16) & 255), UInt8((k >> 8) & 255), UInt8(k & 255)) }
        var k = 4096
        func frame() {
            screen.clear()
            for r in 0..<6 {
                for c in 0..<20 {
                    screen.putHalfBlock(row: r, col: c, top: colour(k), bottom: colour(k))
                    k += 1
                }
            }
        }
        frame()
        screen.flush()
        _ = drain()
        for n in 1..<560 {
            frame()
            screen.flush()
            let out = drain(timeoutMilliseconds: 0)
            XCTAssertFalse(out.contains("\u{1B}[2J"), "frame \(n) cleared the screen")
            for j in (k - 120)..<k {
                let c = colour(j)
                guard out.contains("48:2::\(c.r):\(c.g):\(c.b)m") else {
                    return XCTFail("frame \(n): cell colour \(c) missing")
                }
            }
        }
        XCTAssertEqual(screen.pairTableRestarts, 1, "559 × 120 new pairs fill 65 535 ids once")
        // The same frame again: nothing to send.
        k -= 120
        frame()
        screen.flush()
        XCTAssertFalse(drain().contains("▀"), "an identical frame resends nothing after the table restarted")
    }

    func testNoColorIsMonochrome() throws {
        let screen = try open(["TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"])
        defer { screen.close() }
        XCTAssertEqual(screen.colorMode, .monochrome)
        _ = drain()
        screen.clear()
        screen.putHalfBlock(row: 0, col: 0, top: RGB(255, 255, 255), bottom: RGB(255, 255, 255))
        screen.put("x", row: 1, col: 0, style: Style(foreground: RGB(255, 0, 0), reverse: true))
        screen.flush()
        let out = drain()
        XCTAssertFalse(out.contains("38;5;"), out.debugDescription)
        XCTAssertFalse(out.contains("38:2:"), out.debugDescription)
        XCTAssertTrue(out.contains("█"), "white shades to a full block")
        XCTAssertTrue(out.contains("\u{1B}[7m") || out.contains(";7m"), "reverse survives without colour: \(out.debugDescription)")
    }

    func testEightColourFallback() throws {
        let screen = try open(["TERM": "xterm"])
        defer { screen.close() }
        XCTAssertEqual(screen.colorMode, .palette8)
        _ = drain()
        screen.clear()
        screen.putHalfBlock(row: 0, col: 0, top: RGB(250, 10, 10), bottom: RGB(10, 10, 240))
        screen.flush()
        let out = drain()
        XCTAssertTrue(out.contains("\u{1B}[31m") || out.contains("31;"), out.debugDescription)
        XCTAssertTrue(out.contains("\u{1B}[44m") || out.contains("44m"), out.debugDescription)
    }

    func testKeysDecode() throws {
        let screen = try open(["TERM": "xterm-256color"])
        defer { screen.close() }
        func send(_ s: String) { _ = Array(s.utf8).withUnsafeBytes { write(master, $0.baseAddress, $0.count) } }
        send("q")
        XCTAssertEqual(screen.readKey(timeoutMilliseconds: 500), .char("q"))
        send("\u{1B}OA")
        XCTAssertEqual(screen.readKey(timeoutMilliseconds: 500), .up)
        send("é")
        XCTAssertEqual(screen.readKey(timeoutMilliseconds: 500), .character("é"))
        send("\u{1B}")
        XCTAssertEqual(screen.readKey(timeoutMilliseconds: 500), .escape, "a lone Esc arrives after the escape delay")
        XCTAssertNil(screen.readKey(timeoutMilliseconds: 0))
    }

    func testUnknownTerminalTypeIsAnError() {
        XCTAssertThrowsError(try open(["TERM": "no-such-terminal-xyz"]))
    }
}
