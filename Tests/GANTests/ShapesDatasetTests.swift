import Foundation
@testable import GAN
import Imaging
import Tensors
import XCTest

final class ShapesDatasetTests: XCTestCase {
    /// Smallest circular difference of two fractions of a turn.
    private func turnDistance(_ a: Float, _ b: Float) -> Float {
        let d = abs(a - b).truncatingRemainder(dividingBy: 1)
        return min(d, 1 - d)
    }

    func testFactorsStayInRangeAndShapesStayInsideWithAntiAliasedEdges() throws {
        for size in [16, 32, 64] {
            let dataset = try ShapesDataset(imageSize: size, seed: 1)
            var rng = RandomGenerator(seed: UInt64(size))
            let (images, factors) = dataset.labelledBatch(150, using: &rng)
            XCTAssertEqual(images.shape, [150, 3, size, size])
            let plane = size * size
            var partial = 0
            for (i, f) in factors.enumerated() {
                XCTAssertTrue(ShapesDataset.scaleRange.contains(f.scale))
                XCTAssertTrue((0..<2 * Float.pi).contains(f.rotation))
                XCTAssertTrue((0..<1).contains(f.hue))
                XCTAssertTrue(ShapesDataset.darkBackground.contains(f.background) || ShapesDataset.lightBackground.contains(f.background))
                let bg = 2 * f.background - 1
                let image = Array(images.storage[(i * 3 * plane)..<((i + 1) * 3 * plane)])
                XCTAssertTrue(image.allSatisfy { $0 >= -1 && $0 <= 1 })
                // The outer ring of pixels is pure background in every channel.
                for c in 0..<3 {
                    for k in 0..<size {
                        for p in [k, (size - 1) * size + k, k * size, k * size + size - 1] {
                            XCTAssertEqual(image[c * plane + p], bg, "image \(i) kind \(f.kind) touches the border")
                        }
                    }
                }
                // Edge pixels take intermediate values between background and shape.
                let (r, _, _) = f.rgb
                let full = 2 * r - 1
                partial += image[0..<plane].filter { v in
                    min(bg, full) + 0.02 < v && v < max(bg, full) - 0.02
                }.count
            }
            XCTAssertGreaterThan(partial, 150 * 4, "no anti-aliased edge pixels at size \(size)")
        }
    }

    func testStatisticsRecoverTheFactors() throws {
        let dataset = try ShapesDataset(imageSize: 64, seed: 2)
        var rng = RandomGenerator(seed: 5)
        let (images, factors) = dataset.labelledBatch(120, using: &rng)
        let stats = shapeStatistics(batch: images, valueRange: dataset.valueRange)
        let triangleElongation: Float = 0.3204 // (Σy² − Σx²)/(Σy² + Σx²) of the 45° triangle's vertices
        for (f, s) in zip(factors, stats) {
            let what = "\(f)"
            XCTAssertTrue(s.clean, what)
            XCTAssertEqual(s.x, f.x, accuracy: 0.1 / 64, what)
            XCTAssertEqual(s.y, f.y, accuracy: 0.1 / 64, what)
            XCTAssertEqual(s.area, f.scale * f.scale, accuracy: 0.03 * f.scale * f.scale, what)
            XCTAssertLessThan(turnDistance(s.hue, f.hue), 0.01, what)
            XCTAssertEqual(s.backgroundLevel, f.background, accuracy: 0.003, what)
            switch f.kind {
            case .circle:
                XCTAssertLessThan(s.elongation, 0.02, what)
                XCTAssertEqual(s.compactness, 1, accuracy: 0.02, what)
            case .square:
                XCTAssertLessThan(s.elongation, 0.02, what)
                XCTAssertEqual(s.compactness, 3 / Float.pi, accuracy: 0.02, what)
            case .triangle:
                // Long axis vertical at rotation 0, turning with the shape: 2θ = π + 2·rotation.
                XCTAssertEqual(s.orientationCos, -triangleElongation * cos(2 * f.rotation), accuracy: 0.02, what)
                XCTAssertEqual(s.orientationSin, -triangleElongation * sin(2 * f.rotation), accuracy: 0.02, what)
                XCTAssertEqual(s.compactness, 0.784, accuracy: 0.02, what)
            }
        }
        XCTAssertEqual(Set(factors.map(\.kind)), Set(ShapeKind.allCases))
    }

    func testSmallImagesAreCleanToo() throws {
        let dataset = try ShapesDataset(imageSize: 32, seed: 3)
        var rng = RandomGenerator(seed: 9)
        let (images, factors) = dataset.labelledBatch(200, using: &rng)
        let stats = shapeStatistics(batch: images, valueRange: dataset.valueRange)
        for (f, s) in zip(factors, stats) {
            XCTAssertTrue(s.clean, "\(f) → \(s)")
            XCTAssertEqual(s.x, f.x, accuracy: 0.15 / 32)
        }
    }

    func testBatchesRepeatWithTheSeedAndValueRangeIsHonoured() throws {
        let dataset = try ShapesDataset(imageSize: 32)
        var a = RandomGenerator(seed: 11), b = RandomGenerator(seed: 11), c = RandomGenerator(seed: 12)
        let first = dataset.batch(8, using: &a)
        XCTAssertEqual(first.storage, dataset.batch(8, using: &b).storage)
        XCTAssertNotEqual(first.storage, dataset.batch(8, using: &c).storage)
        XCTAssertEqual(dataset.sampleImages(8, seed: 11).storage, first.storage)

        let unit = try ShapesDataset(imageSize: 32, valueRange: (0, 1))
        var d = RandomGenerator(seed: 11)
        let inUnit = unit.batch(8, using: &d)
        for (x, y) in zip(inUnit.storage, first.storage) { XCTAssertEqual(2 * x - 1, y, accuracy: 1e-5) }
    }

    func testRenderOfGivenFactors() throws {
        let dataset = try ShapesDataset(imageSize: 32, valueRange: (0, 1))
        let f = ShapeFactors(kind: .square, x: 0.5, y: 0.5, scale: 0.25, rotation: 0, hue: 0, background: 0.1)
        let image = dataset.render(f)
        // An axis-aligned 8×8 square centred on the pixel grid: exactly 64 red pixels, no partial ones.
        let red = image[0..<1024]
        XCTAssertEqual(red.filter { $0 == 1 }.count, 64)
        XCTAssertEqual(red.filter { abs($0 - 0.1) < 1e-6 }.count, 1024 - 64)
        XCTAssertEqual(red[16 * 32 + 16], 1)
        // Non-finite factors draw background only instead of trapping.
        var broken = f
        broken.x = .nan
        XCTAssertTrue(dataset.render(broken).allSatisfy { $0 == 0 })
    }

    func testImageSizeIsValidated() {
        XCTAssertThrowsError(try ShapesDataset(imageSize: 8)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badArgument)
        }
    }

    func testDumpWritesPNGsAndFactors() throws {
        let folder = NSTemporaryDirectory() + "shapes-dump-\(UUID().uuidString)/inner"
        defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
        let dataset = try ShapesDataset(imageSize: 16, seed: 42)
        try dataset.dump(count: 5, to: folder)
        var rng = RandomGenerator(seed: 42)
        let (images, factors) = dataset.labelledBatch(5, using: &rng)
        let expected = rgbImages(from: images, valueRange: dataset.valueRange)
        for i in 0..<5 {
            XCTAssertEqual(try PNG.read(folder + "/shape_000\(i).png"), expected[i])
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/factors.json"))
        let record = try JSONDecoder().decode(ShapesDump.self, from: data)
        XCTAssertEqual(record.seed, 42)
        XCTAssertEqual(record.imageSize, 16)
        XCTAssertEqual(record.images.map(\.factors), factors)
        XCTAssertEqual(record.images.map(\.file), (0..<5).map { "shape_000\($0).png" })
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        XCTAssertFalse(names.contains { $0.hasPrefix(".") }, "temporary files left: \(names)")
    }
}
