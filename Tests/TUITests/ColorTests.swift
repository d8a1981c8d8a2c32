import TUI
import XCTest

final class ColorTests: XCTestCase {
    func testPrimariesMapToTheCubeCorners() {
        XCTAssertEqual(ColorQuantizer.xterm256(RGB(255, 0, 0)), 196)
        XCTAssertEqual(ColorQuantizer.xterm256(RGB(0, 255, 0)), 46)
        XCTAssertEqual(ColorQuantizer.xterm256(RGB(0, 0, 255)), 21)
        XCTAssertEqual(ColorQuantizer.xterm256(RGB(255, 255, 255)), 231)
        XCTAssertEqual(ColorQuantizer.xterm256(RGB(0, 0, 0)), 16, "black is the cube's, not palette 0")
    }

    func testGreysUseTheGreyRamp() {
        XCTAssertEqual(ColorQuantizer.xterm256(RGB(128, 128, 128)), 244, "grey 8 + 10·12 = 128")
        XCTAssertEqual(ColorQuantizer.xterm256(RGB(48, 48, 48)), 236)
        let g = ColorQuantizer.xterm256(RGB(100, 100, 100))
        XCTAssertTrue((232...255).contains(g), "\(g)")
    }

    func testEveryEntryMapsToItselfAndNeverToTheThemeColours() {
        for index in 16...255 {
            XCTAssertEqual(ColorQuantizer.xterm256(ColorQuantizer.xterm256Color(index)), index)
        }
        // A coarse sweep of the RGB cube: indices 0–15 never come out.
        for r in stride(from: 0, through: 255, by: 17) {
            for g in stride(from: 0, through: 255, by: 17) {
                for b in stride(from: 0, through: 255, by: 17) {
                    let i = ColorQuantizer.xterm256(RGB(UInt8(r), UInt8(g), UInt8(b)))
                    XCTAssertTrue((16...255).contains(i))
                }
            }
        }
    }

    func testNearestIsPerceptualNotRaw() {
        // Dark saturated blue stays blue (sRGB distance would also say so, but
        // a dark saturated red must not turn grey either).
        let i = ColorQuantizer.xterm256(RGB(120, 10, 10))
        let c = ColorQuantizer.xterm256Color(i)
        XCTAssertGreaterThan(Int(c.r), Int(c.g) + 50, "\(i) = \(c)")
    }

    func testEightColourFallback() {
        XCTAssertEqual(ColorQuantizer.ansi8(RGB(250, 10, 10)), 1)
        XCTAssertEqual(ColorQuantizer.ansi8(RGB(10, 10, 10)), 0)
        XCTAssertEqual(ColorQuantizer.ansi8(RGB(240, 240, 240)), 7)
        XCTAssertEqual(ColorQuantizer.ansi8(RGB(0, 200, 200)), 6)
    }

    func testDirectColourNudgesValuesThatLookLikePaletteIndices() {
        XCTAssertEqual(ColorQuantizer.direct(RGB(0, 0, 1)), 0x000101)
        XCTAssertEqual(ColorQuantizer.direct(RGB(0, 0, 0)), 0x000100)
        XCTAssertEqual(ColorQuantizer.direct(RGB(0, 0, 7)), 0x000107)
        XCTAssertEqual(ColorQuantizer.direct(RGB(0, 0, 8)), 8)
        XCTAssertEqual(ColorQuantizer.direct(RGB(0x12, 0x34, 0x56)), 0x123456)
    }

    func testPairsKeepTheirIdsAcrossFrames() {
        var pairs = PairAllocator(capacity: 100)
        let a = ColorPairKey(foreground: 1, background: 2), b = ColorPairKey(foreground: 3, background: 4)
        let first = pairs.assign([a, b])
        XCTAssertEqual(first.definitions.count, 2)
        let second = pairs.assign([a, b])
        XCTAssertEqual(second.ids, first.ids)
        XCTAssertTrue(second.definitions.isEmpty, "nothing redefined when nothing is new")
    }

    func testLongSessionsNeverExhaustPairs() {
        // 4 usable ids; every frame brings new colours.
        var pairs = PairAllocator(capacity: 5)
        var previous: Set<ColorPairKey> = []
        var previousIds: [ColorPairKey: Int32] = [:]
        for frame in 0..<1000 {
            // Each frame keeps one colour pair of the last frame and adds two.
            let kept = previous.sorted { $0.foreground < $1.foreground }.first
            var keys: Set<ColorPairKey> = [ColorPairKey(foreground: Int32(2 * frame), background: 0),
                                           ColorPairKey(foreground: Int32(2 * frame + 1), background: 0)]
            if let kept { keys.insert(kept) }
            let result = pairs.assign(keys)
            XCTAssertEqual(Set(result.ids.keys), keys)
            XCTAssertFalse(result.ids.values.contains(0), "frame \(frame) ran out of pairs")
            XCTAssertEqual(Set(result.ids.values).count, keys.count, "distinct ids within a frame")
            XCTAssertTrue(result.ids.values.allSatisfy { (1..<5).contains($0) })
            if let kept { XCTAssertEqual(result.ids[kept], previousIds[kept], "a pair still on screen keeps its id") }
            previous = keys
            previousIds = result.ids
        }
    }

    func testNeedsRecyclingOnlyWhenNewKeysOutnumberTheFreshIds() {
        var pairs = PairAllocator(capacity: 5)   // ids 1…4
        let old = Set((0..<3).map { ColorPairKey(foreground: Int32($0), background: 0) })
        _ = pairs.assign(old)
        let one = ColorPairKey(foreground: 10, background: 0), two = ColorPairKey(foreground: 11, background: 0)
        XCTAssertFalse(pairs.needsRecycling(old.union([one])), "one new key, one fresh id left")
        XCTAssertTrue(pairs.needsRecycling(old.union([one, two])))
        XCTAssertTrue(pairs.needsRecycling([one, two]), "ids of keys not in this frame are not fresh")
        pairs.reset()
        XCTAssertFalse(pairs.needsRecycling(old.union([one])))
    }

    func testAFrameLargerThanThePairTableDegradesToDefault() {
        var pairs = PairAllocator(capacity: 3)
        let keys = Set((0..<5).map { ColorPairKey(foreground: Int32($0), background: 0) })
        let result = pairs.assign(keys)
        XCTAssertEqual(result.ids.values.filter { $0 == 0 }.count, 3)
        XCTAssertEqual(result.definitions.count, 2)
    }
}
