import TUI
import XCTest

final class ActionTests: XCTestCase {
    func testActionsAreDistinct() {
        XCTAssertNotEqual(Action.stepForward, Action.stepBackward)
    }
}
