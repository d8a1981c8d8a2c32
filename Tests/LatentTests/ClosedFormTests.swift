import Foundation
@testable import Latent
import NN
import Tensors
import XCTest

/// SeFa, PCA, random directions and the linear algebra under them.
final class ClosedFormTests: XCTestCase {
    override func setUp() { setBLASThreads(1) }

    func testSymmetricEigenOfAKnownMatrix() throws {
        // [[2, 1], [1, 2]]: eigenvalues 3 (along (1, 1)/√2) and 1 (along (1, −1)/√2).
        let (values, vectors) = try symmetricEigen(Tensor([2, 1, 1, 2], shape: [2, 2]))
        XCTAssertEqual(values[0], 3, accuracy: 1e-5)
        XCTAssertEqual(values[1], 1, accuracy: 1e-5)
        let s = Float(0.5).squareRoot()
        let v = rows(vectors)
        XCTAssertEqual(abs(dot(v[0], [s, s])), 1, accuracy: 1e-5)
        XCTAssertEqual(abs(dot(v[1], [s, -s])), 1, accuracy: 1e-5)
    }

    func testLeastSquaresSolvesAnOverdeterminedSystem() throws {
        // y = 2x + 1 sampled exactly: the columns [x, 1] give back (2, 1).
        let xs: [Float] = [0, 1, 2, 3, 4]
        let a = Tensor(xs.flatMap { [$0, 1] }, shape: [5, 2])
        let b = Tensor(xs.map { 2 * $0 + 1 }, shape: [5, 1])
        let solution = try leastSquares(a, b)
        XCTAssertEqual(solution.shape, [2, 1])
        XCTAssertEqual(solution.storage[0], 2, accuracy: 1e-4)
        XCTAssertEqual(solution.storage[1], 1, accuracy: 1e-4)
    }

    /// A = diag(s)·Rᵀ with R a rotation by 30° in the (z0, z1) plane, so AᵀA =
    /// R·diag(s²)·Rᵀ: the eigenvectors are R's columns, ordered by s².
    func testSeFaOfALinearFirstLayerWithKnownEigenvectors() throws {
        let (c, s) = (Float(cos(Double.pi / 6)), Float(sin(Double.pi / 6)))
        let r: [[Float]] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]          // columns are the eigenvectors
        let gains: [Float] = [1, 3, 2]                                  // s, per column of R
        var a = [Float](repeating: 0, count: 9)                         // A[i, j] = s_i · R[j, i]
        for i in 0..<3 { for j in 0..<3 { a[i * 3 + j] = gains[i] * r[j][i] } }
        let spec = NetworkSpec(prefix: "g", layers: [.linear(inFeatures: 3, outFeatures: 3, bias: false), .tanh],
                               inputSize: 3, prior: .gaussian)
        let generator = try Network(spec: spec) { $0 == "g.0.weight" ? Tensor(a, shape: [3, 3]) : nil }

        let (directions, eigenvalues) = try SeFa.directions(generator, k: 3)
        XCTAssertEqual(eigenvalues, [9, 4, 1].map(Float.init), accuracy: 1e-4)
        let expected = [[-s, c, 0], [0, 0, 1], [c, s, 0]]               // R's columns for s = 3, 2, 1
        for (found, want) in zip(rows(directions), expected) {
            XCTAssertEqual(abs(dot(found, want)), 1, accuracy: 1e-5, "\(found) vs ±\(want)")
        }
        // `discoverDirections` keeps the eigenvalue shares in params and scores every
        // method by feature change, ordered best first.
        let checkpoint = Checkpoint(generator: generator)
        let set = try discoverDirections(.sefa, in: checkpoint, options: { var o = DiscoveryOptions(); o.k = 2; return o }())
        let params = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(set.paramsJSON.utf8)) as? [String: Any])
        let shares = try XCTUnwrap(params["eigenvalue_share"] as? [Double]).map(Float.init)
        XCTAssertEqual(shares, [9 / 14, 4 / 14], accuracy: 1e-5)
        XCTAssertEqual(set.scores.count, 2)
        XCTAssertGreaterThanOrEqual(set.scores[0], set.scores[1])
        XCTAssertGreaterThan(set.scores[1], 0)
        XCTAssertEqual(checkpoint.directionSets["sefa"]?.k, 2)
    }

    /// For conv-transpose on a 1×1 input, A·z must equal the first layer's output.
    func testSeFaMatrixOfAConvTransposeReproducesTheLayer() throws {
        for padding in [0, 1] {
            let spec = NetworkSpec(prefix: "main",
                                   layers: [.convTranspose2d(inChannels: 5, outChannels: 3, kernel: 4, stride: 1,
                                                             padding: padding, outputPadding: 0, bias: false)],
                                   inputSize: 5, inputShape: [5, 1, 1], prior: .gaussian)
            var rng = RandomGenerator(seed: 2)
            let generator = Network(spec: spec, initializeWith: &rng)
            let a = try SeFa.firstLayerMatrix(generator)
            let side = 4 - 2 * padding
            XCTAssertEqual(a.shape, [3 * side * side, 5])
            let z = Tensor.normal([2, 5], using: &rng)
            let layer = withoutGrad { generator(z) }.reshaped([2, -1])
            let viaMatrix = withoutGrad { matmul(z, a, transposeB: true) }
            XCTAssertEqual(viaMatrix.storage, layer.storage, accuracy: 1e-6, "padding \(padding)")
        }
    }

    func testSeFaRefusesAFirstLayerItCannotRead() {
        let checkpoint = TinyGenerator.linear(d: 4)
        checkpoint.generator = try! Network(spec: NetworkSpec(prefix: "g", layers: [.tanh], inputSize: 4, prior: .gaussian)) { _ in nil }
        XCTAssertThrowsError(try SeFa.directions(checkpoint.generator, k: 2)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badSpec)
            XCTAssertTrue("\(error)".contains("--method pca"))
        }
    }

    /// G1 = a linear layer whose latent axis 2 has by far the largest gain: the
    /// first principal component of the features is that axis's image, and the
    /// regression must carry it back to ±e₂.
    func testPCAFindsTheDominantLatentAxis() throws {
        var gains = [Float](repeating: 0.3, count: 6)
        gains[2] = 4
        gains[4] = 2
        let checkpoint = TinyGenerator.linear(d: 6, hidden: 48, gains: gains, seed: 5)
        var options = DiscoveryOptions()
        (options.k, options.layer, options.samples) = (2, 1, 400)     // G1 = the linear layer itself
        let set = try discoverDirections(.pca, in: checkpoint, options: options)
        let found = rows(set.directions)
        XCTAssertGreaterThan(abs(found[0][2]), 0.97, "\(found[0])")
        XCTAssertGreaterThan(abs(found[1][4]), 0.9, "\(found[1])")
        XCTAssertGreaterThan(set.scores[0], set.scores[1])
        XCTAssertLessThan(orthonormalityError(set.directions), 1e-4)

        // Dual space (features larger than the sample count) gives the same answer.
        options.samples = 40
        let dual = try GANSpace.directions(checkpoint.generator, prior: .gaussian, k: 2, layer: 1, samples: 40, seed: 3)
        XCTAssertGreaterThan(abs(rows(dual.directions)[0][2]), 0.95)
    }

    func testRandomDirectionsAreOrthonormalSeededAndSortedByScore() throws {
        let checkpoint = TinyGenerator.linear(d: 10)
        var options = DiscoveryOptions()
        (options.k, options.seed) = (6, 42)
        let a = try discoverDirections(.random, in: checkpoint, options: options)
        let b = try discoverDirections(.random, in: checkpoint, options: options)
        XCTAssertEqual(a.directions.storage, b.directions.storage)
        XCTAssertLessThan(orthonormalityError(a.directions), 1e-5)
        XCTAssertEqual(a.scores, a.scores.sorted(by: >))
        options.seed = 43
        let c = try discoverDirections(.random, in: checkpoint, options: options)
        XCTAssertNotEqual(a.directions.storage, c.directions.storage)
    }

    func testOrthonormalisationHandlesDependentRows() {
        let t = Tensor([1, 0, 0, 2, 0, 0, 0, 1, 1], shape: [3, 3])  // row 1 ∥ row 0
        let q = orthonormalizedRows(t)
        XCTAssertLessThan(orthonormalityError(q), 1e-5)
        XCTAssertEqual(rows(q)[0], [1, 0, 0])
    }

    func testBadKAndLayerAreInputErrors() {
        let checkpoint = TinyGenerator.linear(d: 4)
        var options = DiscoveryOptions()
        options.k = 5
        XCTAssertThrowsError(try discoverDirections(.random, in: checkpoint, options: options)) {
            XCTAssertEqual(($0 as? InputError)?.key, "--k")
        }
        options.k = 2
        options.layer = 99
        XCTAssertThrowsError(try discoverDirections(.pca, in: checkpoint, options: options)) {
            XCTAssertEqual(($0 as? InputError)?.key, "--layer")
        }
    }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, _ message: String = "",
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "lengths differ: \(message)", file: file, line: line)
    for (x, y) in zip(a, b) where abs(x - y) > accuracy {
        XCTFail("\(a) ≠ \(b) within \(accuracy): \(message)", file: file, line: line)
        return
    }
}
