import GAN
import XCTest

final class ObjectiveTests: XCTestCase {
    /// `--objective` values are an interface (DESIGN.md): keep the names.
    func testObjectiveNamesAreTheCommandLineNames() {
        XCTAssertEqual(Objective.allCases.map(\.rawValue), ["wgan", "wgan-gp", "began", "san", "ns"])
        XCTAssertEqual(Objective.began.defaultPrior, "uniform")
        XCTAssertEqual(Objective.wganGP.defaultPrior, "gaussian")
    }
}
