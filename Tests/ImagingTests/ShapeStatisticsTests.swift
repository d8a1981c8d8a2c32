import Foundation
import Imaging
import Tensors
import XCTest

/// Synthetic images with known answers: shapes drawn by 8×8 supersampling
/// (independent of the shapes dataset's renderer) on plain backgrounds.
final class ShapeStatisticsTests: XCTestCase {
    /// Planes R, G, B of a `size`² image: `inside(x, y)` (pixel units, y down) coloured `fg` over `bg`.
    private func draw(size: Int = 64, bg: (Float, Float, Float) = (0.2, 0.2, 0.2), fg: (Float, Float, Float),
                      _ inside: (Float, Float) -> Bool) -> [Float] {
        let plane = size * size
        var out = [Float](repeating: 0, count: 3 * plane)
        for y in 0..<size {
            for x in 0..<size {
                var hits = 0
                for sy in 0..<8 {
                    for sx in 0..<8 where inside(Float(x) + (Float(sx) + 0.5) / 8, Float(y) + (Float(sy) + 0.5) / 8) {
                        hits += 1
                    }
                }
                let c = Float(hits) / 64
                let p = y * size + x
                out[p] = bg.0 + c * (fg.0 - bg.0)
                out[plane + p] = bg.1 + c * (fg.1 - bg.1)
                out[2 * plane + p] = bg.2 + c * (fg.2 - bg.2)
            }
        }
        return out
    }

    private func disk(_ cx: Float, _ cy: Float, _ r: Float) -> (Float, Float) -> Bool {
        { x, y in (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r }
    }

    /// A w×h rectangle centred at (cx, cy), turned by `angle` (clockwise on screen).
    private func rectangle(_ cx: Float, _ cy: Float, _ w: Float, _ h: Float, angle: Float = 0) -> (Float, Float) -> Bool {
        { x, y in
            let (dx, dy) = (x - cx, y - cy)
            let u = dx * cos(angle) + dy * sin(angle), v = -dx * sin(angle) + dy * cos(angle)
            return abs(u) <= w / 2 && abs(v) <= h / 2
        }
    }

    func testDiskCentroidAreaHueAndCleanliness() {
        let image = draw(fg: (1, 0, 0), disk(40.3, 20.7, 10))
        let s = shapeStatistics(chw: image, width: 64, height: 64)
        XCTAssertEqual(s.x, 40.3 / 64, accuracy: 0.05 / 64)
        XCTAssertEqual(s.y, 20.7 / 64, accuracy: 0.05 / 64)
        XCTAssertEqual(s.area, Float.pi * 100 / 4096, accuracy: 0.01 * Float.pi * 100 / 4096)
        XCTAssertLessThan(s.elongation, 0.02)
        XCTAssertEqual(s.compactness, 1, accuracy: 0.02)
        XCTAssertEqual(s.hueCos, 1, accuracy: 0.02)
        XCTAssertEqual(s.hueSin, 0, accuracy: 0.02)
        XCTAssertEqual(s.background, [0.2, 0.2, 0.2].map { Float(($0 * 255).rounded()) / 255 })
        XCTAssertEqual(s.backgroundLevel, 0.2, accuracy: 0.003)
        XCTAssertEqual(s.foreground[0], 1, accuracy: 0.01)
        XCTAssertEqual(s.componentFraction, 1)
        XCTAssertLessThan(s.colourSpread, 0.01)
        XCTAssertEqual(s.borderFraction, 1)
        XCTAssertTrue(s.clean)
        XCTAssertEqual(s.vector.count, ShapeStatistics.names.count)
    }

    func testOrientationFollowsTheLongAxisAndVanishesForASquare() {
        // Elongation of a 30×8 rectangle: (a² − b²)/(a² + b²).
        let expected: Float = (900 - 64) / (900 + 64)
        let flat = shapeStatistics(chw: draw(fg: (0, 0, 1), rectangle(32, 32, 30, 8)), width: 64, height: 64)
        XCTAssertEqual(flat.orientationCos, expected, accuracy: 0.02)
        XCTAssertEqual(flat.orientationSin, 0, accuracy: 0.02)
        let upright = shapeStatistics(chw: draw(fg: (0, 0, 1), rectangle(32, 32, 8, 30)), width: 64, height: 64)
        XCTAssertEqual(upright.orientationCos, -expected, accuracy: 0.02)
        // 45° clockwise on screen: the long axis runs to the lower right, 2θ = 90°.
        let turned = shapeStatistics(chw: draw(fg: (0, 0, 1), rectangle(32, 32, 30, 8, angle: .pi / 4)), width: 64, height: 64)
        XCTAssertEqual(turned.orientationCos, 0, accuracy: 0.03)
        XCTAssertEqual(turned.orientationSin, expected, accuracy: 0.03)
        let square = shapeStatistics(chw: draw(fg: (0, 0, 1), rectangle(30, 33, 20, 20, angle: 0.3)), width: 64, height: 64)
        XCTAssertLessThan(square.elongation, 0.02)
        XCTAssertEqual(square.compactness, 6 / (2 * Float.pi), accuracy: 0.02)
        XCTAssertEqual(square.area, 400 / 4096, accuracy: 0.01 * 400 / 4096)
    }

    func testHueIsAContinuousVectorThatFadesForGrey() {
        let green = shapeStatistics(chw: draw(fg: (0, 1, 0), disk(32, 32, 12)), width: 64, height: 64)
        XCTAssertEqual(green.hue, 1.0 / 3, accuracy: 0.005)
        XCTAssertEqual(green.hueCos, cos(2 * .pi / 3), accuracy: 0.02)
        XCTAssertEqual(green.hueSin, sin(2 * .pi / 3), accuracy: 0.02)
        let orange = shapeStatistics(chw: draw(fg: (1, 0.5, 0), disk(32, 32, 12)), width: 64, height: 64)
        XCTAssertEqual(orange.hue, 1.0 / 12, accuracy: 0.005) // HSV 30°
        // On a light background too (the hue belongs to the shape, not the edge mix).
        let magenta = shapeStatistics(chw: draw(bg: (0.8, 0.8, 0.8), fg: (1, 0, 1), disk(32, 32, 12)), width: 64, height: 64)
        XCTAssertEqual(magenta.hue, 5.0 / 6, accuracy: 0.005)
        XCTAssertTrue(magenta.clean)
        let grey = shapeStatistics(chw: draw(fg: (0.9, 0.9, 0.9), disk(32, 32, 12)), width: 64, height: 64)
        XCTAssertLessThan(abs(grey.hueCos) + abs(grey.hueSin), 0.01)
        XCTAssertTrue(grey.clean)
    }

    func testTwoBlobsNoiseAndGradientsAreNotClean() {
        let two = shapeStatistics(chw: draw(fg: (1, 1, 0)) { x, y in
            self.disk(16, 16, 7)(x, y) || self.disk(46, 44, 7)(x, y)
        }, width: 64, height: 64)
        XCTAssertEqual(two.componentFraction, 0.5, accuracy: 0.02)
        XCTAssertFalse(two.clean)
        XCTAssertEqual(ShapeStatistics.CleanCondition.allCases.filter { !two.meets($0) }, [.oneComponent])
        XCTAssertEqual(two.x, 31 / 64, accuracy: 0.01)

        var rng = RandomGenerator(seed: 3)
        var noise = [Float](repeating: 0, count: 3 * 32 * 32)
        rng.fillUniform(&noise)
        let noisy = shapeStatistics(chw: noise, width: 32, height: 32)
        XCTAssertFalse(noisy.clean)
        XCTAssertGreaterThan(noisy.colourSpread, 0.2)

        // A disk whose colour runs from red to blue: one component, but not one colour.
        var gradient = draw(fg: (1, 0, 0), disk(32, 32, 14))
        for y in 0..<64 {
            for x in 0..<64 where disk(32, 32, 13)(Float(x) + 0.5, Float(y) + 0.5) {
                let t = Float(x) / 63
                gradient[y * 64 + x] = 1 - t
                gradient[2 * 4096 + y * 64 + x] = t
            }
        }
        let mixed = shapeStatistics(chw: gradient, width: 64, height: 64)
        XCTAssertEqual(mixed.componentFraction, 1)
        XCTAssertGreaterThan(mixed.colourSpread, ShapeStatistics.maximumColourSpread)
        XCTAssertFalse(mixed.clean)
        XCTAssertEqual(ShapeStatistics.CleanCondition.allCases.filter { !mixed.meets($0) }, [.uniformColour])
    }

    /// A generator's edges ramp over about two pixels; the ramp is not a second
    /// colour. A blotch inside the shape is.
    func testSoftEdgesAreUniformButABlotchIsNot() {
        let size = 32, plane = 32 * 32
        func softDisk(blotch: Bool) -> [Float] {
            var out = [Float](repeating: 0.2, count: 3 * plane)
            for y in 0..<size {
                for x in 0..<size {
                    let d = ((Float(x) + 0.5 - 15) * (Float(x) + 0.5 - 15) + (Float(y) + 0.5 - 16) * (Float(y) + 0.5 - 16)).squareRoot()
                    let c = min(max((6.25 - d) / 2.5, 0), 1) // a ramp 2.5 px wide around r = 5
                    let inBlotch = blotch && x >= 14 && x <= 16 && y >= 15 && y <= 17
                    let fg: (Float, Float, Float) = inBlotch ? (1, 0.8, 0) : (1, 0, 0)
                    let p = y * size + x
                    out[p] = 0.2 + c * (fg.0 - 0.2)
                    out[plane + p] = 0.2 + c * (fg.1 - 0.2)
                    out[2 * plane + p] = 0.2 + c * (fg.2 - 0.2)
                }
            }
            return out
        }
        let soft = shapeStatistics(chw: softDisk(blotch: false), width: size, height: size)
        XCTAssertLessThan(soft.colourSpread, 0.02)
        XCTAssertTrue(soft.clean, "\(soft)")
        let blotched = shapeStatistics(chw: softDisk(blotch: true), width: size, height: size)
        XCTAssertGreaterThan(blotched.colourSpread, ShapeStatistics.maximumColourSpread)
        XCTAssertEqual(ShapeStatistics.CleanCondition.allCases.filter { !blotched.meets($0) }, [.uniformColour])
    }

    func testPlainImageHasNoForeground() {
        let plain = [Float](repeating: 0.4, count: 3 * 32 * 32)
        let s = shapeStatistics(chw: plain, width: 32, height: 32)
        XCTAssertEqual(s.area, 0)
        XCTAssertEqual(s.x, 0.5)
        XCTAssertFalse(s.clean)
        XCTAssertTrue(s.vector.allSatisfy(\.isFinite))
    }

    func testShapeTouchingTheBorderIsNotClean() {
        let s = shapeStatistics(chw: draw(fg: (1, 0, 0), rectangle(4, 32, 12, 20)), width: 64, height: 64)
        XCTAssertLessThan(s.borderFraction, 1)
        XCTAssertEqual(s.backgroundLevel, 0.2, accuracy: 0.003) // the median ignores the touching side
        XCTAssertEqual(s.area, 10 * 20 / 4096, accuracy: 0.002)
    }

    func testBatchInValueRangeAndBytesAgreeWithPlanes() {
        let image = draw(size: 32, fg: (0.1, 0.6, 1), rectangle(12, 18, 10, 6, angle: 0.5))
        let direct = shapeStatistics(chw: image, width: 32, height: 32)
        // The same image in [-1, 1], twice in a batch, plus a NaN-filled one that must not crash.
        let scaled = image.map { 2 * $0 - 1 }
        let batch = Tensor(shape: [3, 3, 32, 32], storage: scaled + scaled + [Float](repeating: .nan, count: 3 * 1024))
        let measured = shapeStatistics(batch: batch, valueRange: (-1, 1))
        XCTAssertEqual(measured.count, 3)
        for i in 0..<2 {
            for (a, b) in zip(measured[i].vector, direct.vector) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        }
        XCTAssertTrue(measured[2].vector.allSatisfy(\.isFinite))
        XCTAssertFalse(measured[2].clean)

        // 8-bit rounding moves things only slightly.
        let bytes = (0..<1024).flatMap { p in (0..<3).map { c in UInt8((image[c * 1024 + p] * 255).rounded()) } }
        let fromBytes = shapeStatistics(RGBImage(width: 32, height: 32, pixels: bytes))
        for (a, b) in zip(fromBytes.vector, direct.vector) { XCTAssertEqual(a, b, accuracy: 0.01) }
        XCTAssertEqual(fromBytes.clean, direct.clean)

        // One channel is grey: no hue, same position.
        let grey = Tensor(shape: [1, 1, 32, 32], storage: Array(scaled[1024..<2048]))
        let g = shapeStatistics(batch: grey, valueRange: (-1, 1))[0]
        XCTAssertEqual(g.x, direct.x, accuracy: 0.01)
        XCTAssertEqual(g.hueCos, 0, accuracy: 1e-6)
    }
}
