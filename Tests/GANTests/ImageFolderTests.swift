import Foundation
@testable import GAN
import Imaging
import Tensors
import XCTest

final class ImageFolderTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "image-folder-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func write(_ image: RGBImage, _ name: String) throws {
        let path = folder + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try PNG.write(image, to: path)
    }

    /// A wide image: blue margins left and right of a centred red square.
    private func wideRedCentre(height: Int) -> RGBImage {
        var image = RGBImage(width: 3 * height, height: height, fill: (0, 0, 255))
        for y in 0..<height { for x in height..<(2 * height) { image[x, y] = (255, 0, 0) } }
        return image
    }

    func testLoadsCropsResizesAndConvertsToTheValueRange() throws {
        try write(wideRedCentre(height: 20), "b_wide.png")
        try write(RGBImage(width: 8, height: 8, fill: (0, 255, 0)), "sub/a_green.PNG")
        try write(RGBImage(width: 12, height: 30, fill: (255, 255, 255)), "c_tall.png")
        try write(RGBImage(width: 8, height: 8, fill: (9, 9, 9)), ".hidden/x.png")
        try write(RGBImage(width: 8, height: 8, fill: (9, 9, 9)), ".dot.png")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: folder + "/notes.txt"))

        let dataset = try ImageFolderDataset(path: folder, imageSize: 8)
        XCTAssertEqual(dataset.files, ["b_wide.png", "c_tall.png", "sub/a_green.PNG"])
        let all = dataset.images(at: [0, 1, 2])
        XCTAssertEqual(all.shape, [3, 3, 8, 8])
        let plane = 64
        // The centre crop of the wide image is all red: R = 1, G = B = −1 in [−1, 1].
        XCTAssertTrue(all.storage[0..<plane].allSatisfy { $0 == 1 })
        XCTAssertTrue(all.storage[plane..<(3 * plane)].allSatisfy { $0 == -1 })
        XCTAssertTrue(all.storage[(3 * plane)..<(6 * plane)].allSatisfy { $0 == 1 })          // white
        XCTAssertTrue(all.storage[(7 * plane)..<(8 * plane)].allSatisfy { $0 == 1 })          // green channel
        XCTAssertTrue(dataset.summary.contains("3 images"))

        let unit = try ImageFolderDataset(path: folder, imageSize: 4, valueRange: (0, 1))
        var rng = RandomGenerator(seed: 1)
        let batch = unit.batch(10, using: &rng)
        XCTAssertEqual(batch.shape, [10, 3, 4, 4])
        XCTAssertTrue(batch.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testSampleImagesAreDistinctAndCappedAtTheFolderSize() throws {
        for i in 0..<6 { try write(RGBImage(width: 4, height: 4, fill: (UInt8(i * 40), 0, 0)), "img\(i).png") }
        let dataset = try ImageFolderDataset(path: folder, imageSize: 4, valueRange: (0, 255))
        let sample = dataset.sampleImages(4, seed: 3)
        XCTAssertEqual(sample.shape, [4, 3, 4, 4])
        let reds = (0..<4).map { sample.storage[$0 * 48] }
        XCTAssertEqual(Set(reds).count, 4)
        XCTAssertEqual(dataset.sampleImages(4, seed: 3).storage, sample.storage)
        let everything = dataset.sampleImages(100, seed: 3)
        XCTAssertEqual(everything.shape[0], 6)
        XCTAssertEqual(Set((0..<6).map { everything.storage[$0 * 48] }), Set((0..<6).map { Float($0 * 40) }))
    }

    func testUnreadableFilesAreReportedTogetherInOneLine() throws {
        try write(RGBImage(width: 4, height: 4, fill: (1, 2, 3)), "good1.png")
        try write(RGBImage(width: 4, height: 4, fill: (1, 2, 3)), "good2.png")
        for i in 0..<7 { try Data("junk \(i)".utf8).write(to: URL(fileURLWithPath: folder + "/bad\(i).png")) }
        XCTAssertThrowsError(try ImageFolderDataset(path: folder, imageSize: 8)) { error in
            guard let error = error as? InputError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .badImage)
            XCTAssertEqual(error.file, folder)
            XCTAssertTrue(error.message.contains("7 of 9 PNG files"), error.message)
            XCTAssertTrue(error.message.contains("bad0.png, bad1.png, bad2.png, bad3.png, bad4.png and 2 more"), error.message)
            XCTAssertFalse(error.message.contains("bad5.png,"), error.message)
            XCTAssertFalse(error.description.contains("\n"))
        }
    }

    func testFoldersWithoutImagesAreInputErrors() throws {
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/readme.txt"))
        XCTAssertThrowsError(try ImageFolderDataset(path: folder, imageSize: 8)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .missingData)
        }
        XCTAssertThrowsError(try ImageFolderDataset(path: folder + "/missing", imageSize: 8)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .unreadable)
        }
        XCTAssertThrowsError(try ImageFolderDataset(path: folder + "/readme.txt", imageSize: 8)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .unreadable)
        }
        XCTAssertThrowsError(try ImageFolderDataset(path: folder, imageSize: 0)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badArgument)
        }
    }

    func testOpenDatasetChoosesShapesOrAFolder() throws {
        XCTAssertTrue(try openDataset("shapes", imageSize: 32) is ShapesDataset)
        try write(RGBImage(width: 4, height: 4, fill: (1, 2, 3)), "one.png")
        let folderData = try openDataset(folder, imageSize: 16)
        XCTAssertTrue(folderData is ImageFolderDataset)
        XCTAssertEqual(folderData.imageSize, 16)
    }
}
