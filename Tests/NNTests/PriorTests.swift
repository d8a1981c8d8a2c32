import NN
import Tensors
import XCTest

final class PriorTests: XCTestCase {
    /// ψ scales the very draw ψ = 1 gives (same stream), towards 0 for both priors.
    func testTruncationScalesTheSameDrawTowardsTheCentre() {
        for prior in Prior.allCases {
            for psi: Float in [0.05, 0.5, 2] {
                var ra = RandomGenerator(seed: 11), rb = RandomGenerator(seed: 11)
                let z = prior.sample(32, dimension: 6, using: &ra)
                let truncated = prior.sample(32, dimension: 6, truncation: psi, using: &rb)
                XCTAssertEqual(truncated.shape, [32, 6])
                XCTAssertEqual(truncated.storage, z.storage.map { $0 * psi }, "\(prior) ψ \(psi)")
            }
        }
        var rng = RandomGenerator(seed: 2)
        let uniform = Prior.uniform.sample(256, dimension: 4, truncation: 0.3, using: &rng).storage
        XCTAssertLessThanOrEqual(uniform.map(abs).max() ?? .infinity, 0.3)
        XCTAssertGreaterThan(uniform.map(abs).max() ?? 0, 0.25)
    }

    func testTruncationOutsideTheRangeIsRefusedNamingTheFlag() {
        for psi in [Prior.truncationRange.lowerBound, 1, Prior.truncationRange.upperBound] {
            XCTAssertNoThrow(try checkTruncation(psi))
        }
        for psi: Float in [0, 0.04, -1, 2.01, .nan, .infinity] {
            XCTAssertThrowsError(try checkTruncation(psi), "ψ \(psi)") { error in
                XCTAssertEqual((error as? InputError)?.kind, .badArgument)
                XCTAssertEqual((error as? InputError)?.key, "--truncation")
            }
        }
    }
}
