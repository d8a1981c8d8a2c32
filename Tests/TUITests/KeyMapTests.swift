import TUI
import XCTest

final class KeyMapTests: XCTestCase {
    let map = KeyMap.browser

    func testEveryKeyOfTheIssueMapsToItsAction() {
        let expected: [(Key, Action)] = [
            (.up, .previousDirection), (.char("k"), .previousDirection),
            (.down, .nextDirection), (.char("j"), .nextDirection),
            (.left, .stepBackward), (.char("h"), .stepBackward),
            (.right, .stepForward), (.char("l"), .stepForward),
            (.char("+"), .increaseStride), (.char("]"), .increaseStride),
            (.char("-"), .decreaseStride), (.char("["), .decreaseStride),
            (.char("m"), .cycleMode), (.char("d"), .cycleMethod),
            (.char("0"), .returnToOrigin), (.char("r"), .newOrigin),
            (.char(" "), .togglePlay), (.char("n"), .nameDirection),
            (.char("t"), .setTruncation), (.char("u"), .undo),
            (.char("w"), .writeLatent), (.char("e"), .exportWalk),
            (.char("s"), .saveFrame), (.char("g"), .writeContactSheet),
            (.char("c"), .toggleCompare), (.char("?"), .toggleHelp),
            (.char("q"), .quit), (.escape, .quit), (.resize, .resize),
        ]
        for (key, action) in expected {
            XCTAssertEqual(map.action(for: key), action, "\(key)")
        }
        XCTAssertEqual(map.bindings.flatMap(\.keys).count, expected.count, "no bindings beyond the issue's list")
    }

    func testKeyCodesAreNcursesValues() {
        // curses.h: KEY_DOWN 0402, KEY_UP 0403, KEY_LEFT 0404, KEY_RIGHT 0405, KEY_RESIZE 0632.
        XCTAssertEqual(Key.down, .code(258))
        XCTAssertEqual(Key.up, .code(259))
        XCTAssertEqual(Key.left, .code(260))
        XCTAssertEqual(Key.right, .code(261))
        XCTAssertEqual(Key.resize, .code(410))
        XCTAssertEqual(Key.escape, .character(Unicode.Scalar(27)))
    }

    func testUnboundKeysGiveNothing() {
        XCTAssertNil(map.action(for: .char("x")))
        XCTAssertNil(map.action(for: .char("K")))
        // U+0102 shares its number with KEY_DOWN; it must not move the selection.
        XCTAssertNil(map.action(for: .character("\u{0102}")))
    }

    func testTextFieldTakesCharactersAndEditingKeys() {
        XCTAssertEqual(map.action(for: .char("q"), editingText: true), .text(.insert("q")))
        XCTAssertEqual(map.action(for: .char(" "), editingText: true), .text(.insert(" ")))
        XCTAssertEqual(map.action(for: .character("é"), editingText: true), .text(.insert("é")))
        XCTAssertEqual(map.action(for: .escape, editingText: true), .text(.cancel), "Esc cancels instead of quitting")
        for enter in [Key.enter, .char("\n"), .char("\r")] {
            XCTAssertEqual(map.action(for: enter, editingText: true), .text(.commit))
        }
        for backspace in [Key.backspace, .character("\u{7F}"), .character("\u{08}")] {
            XCTAssertEqual(map.action(for: backspace, editingText: true), .text(.deleteBackward))
        }
        XCTAssertEqual(map.action(for: .resize, editingText: true), .resize)
        XCTAssertNil(map.action(for: .up, editingText: true))
        XCTAssertNil(map.action(for: .character("\u{01}"), editingText: true))
        XCTAssertEqual(map.action(for: .char("q"), editingText: false), .quit)
    }

    func testHelpRowsCoverEveryUserBinding() {
        let rows = map.helpRows
        XCTAssertEqual(rows.count, map.bindings.count - 1, "all but the resize pseudo-key")
        XCTAssertTrue(rows.contains { $0.keys == "q Esc" && $0.help == "quit" })
    }
}
