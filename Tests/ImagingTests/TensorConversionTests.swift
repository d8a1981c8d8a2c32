@testable import Imaging
import Tensors
import XCTest

final class TensorConversionTests: XCTestCase {
    func testValueRangeMappingRoundsAndClamps() {
        let values: [Float] = [-1, 1, 0, 2, .nan, -3, .infinity, -.infinity, -0.5, 0.999]
        let t = Tensor(shape: [1, 1, 1, values.count], storage: values)
        let image = rgbImages(from: t, valueRange: (-1, 1))[0]
        let expected: [UInt8] = [0, 255, 128, 255, 0, 0, 255, 0, 64, 255]
        XCTAssertEqual(stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] }, expected)
        // One channel is replicated.
        XCTAssertEqual(image.pixels[6], image.pixels[7])
        XCTAssertEqual(image.pixels[7], image.pixels[8])
    }

    func testUnitRangeMapsToBytes() {
        let t = Tensor(shape: [1, 1, 1, 4], storage: [0, 0.5, 1, 0.2])
        let px = rgbImages(from: t, valueRange: (0, 1))[0].pixels
        XCTAssertEqual([px[0], px[3], px[6], px[9]], [0, 128, 255, 51])
    }

    func testChannelLayoutIsNCHW() {
        // 2 images, 3 channels, 1×2 pixels: value = image*100 + channel*10 + x.
        var values: [Float] = []
        for n in 0..<2 { for c in 0..<3 { for x in 0..<2 { values.append(Float(n * 100 + c * 10 + x)) } } }
        let images = rgbImages(from: Tensor(shape: [2, 3, 1, 2], storage: values), valueRange: (0, 255))
        XCTAssertEqual(images.count, 2)
        XCTAssertEqual(images[0].pixels, [0, 10, 20, 1, 11, 21])
        XCTAssertEqual(images[1].pixels, [100, 110, 120, 101, 111, 121])
        // Rank 3 is one image.
        let single = rgbImages(from: Tensor(shape: [3, 1, 2], storage: Array(values[..<6])), valueRange: (0, 255))
        XCTAssertEqual(single, [images[0]])
    }

    func testBytesRoundTripThroughTensorExactly() {
        let all = RGBImage(width: 256, height: 1, pixels: (0..<768).map { UInt8($0 / 3) })
        for range: (Float, Float) in [(0, 1), (-1, 1), (0, 255), (1, -1)] {
            let t = tensor(from: [all, all], valueRange: range)
            XCTAssertEqual(t.shape, [2, 3, 1, 256])
            XCTAssertEqual(t.storage[0], range.0)
            XCTAssertEqual(t.storage[255], range.1)
            XCTAssertEqual(rgbImages(from: t, valueRange: range), [all, all], "range \(range)")
        }
    }

    func testGrayTensorFromImages() {
        let gray = RGBImage(GrayImage(width: 2, height: 1, pixels: [0, 255]))
        let t = tensor(from: [gray], valueRange: (-1, 1), channels: 1)
        XCTAssertEqual(t.shape, [1, 1, 1, 2])
        XCTAssertEqual(t.storage[0], -1, accuracy: 1e-6)
        XCTAssertEqual(t.storage[1], 1, accuracy: 1e-6)
        XCTAssertEqual(rgbImages(from: t, valueRange: (-1, 1)), [gray])
    }

    func testImageTensorIsCHW() {
        var image = RGBImage(width: 1, height: 2)
        image[0, 1] = (255, 0, 255)
        let t = image.tensor()
        XCTAssertEqual(t.shape, [3, 2, 1])
        XCTAssertEqual(t.storage, [0, 1, 0, 0, 0, 1])
    }

    func testEmptyBatch() {
        XCTAssertEqual(tensor(from: [], valueRange: (0, 1)).shape, [0, 3, 0, 0])
        XCTAssertEqual(rgbImages(from: Tensor.zeros([0, 3, 4, 4]), valueRange: (0, 1)), [])
    }
}
