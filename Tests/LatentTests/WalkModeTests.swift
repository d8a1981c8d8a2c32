import Latent
import XCTest

final class WalkModeTests: XCTestCase {
    func testModesCycleLinearNormDensity() {
        XCTAssertEqual(WalkMode.linear.next, .norm)
        XCTAssertEqual(WalkMode.norm.next, .density)
        XCTAssertEqual(WalkMode.density.next, .linear)
        XCTAssertEqual(WalkMode.allCases.map(\.rawValue), ["linear", "norm", "density"], "`--mode` names are an interface")
    }
}
