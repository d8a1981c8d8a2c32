import Foundation
import Imaging
@testable import Latent
import NN
import Tensors
import XCTest

final class ExportTests: XCTestCase {
    override func setUp() { setBLASThreads(1) }

    /// A checkpoint with SeFa and (briefly trained) DP-LaSE sets, so it has F and C.
    func checkpointWithDirections(prior: Prior = .gaussian) throws -> Checkpoint {
        let checkpoint = TinyGenerator.linear(d: 8, prior: prior, seed: 11)
        var options = DiscoveryOptions()
        (options.k, options.scoreSamples) = (3, 16)
        options.dplase.steps = 5
        options.dplase.batch = 4
        try discoverDirections(.sefa, in: checkpoint, options: options)
        try discoverDirections(.dplase, in: checkpoint, options: options)
        return checkpoint
    }

    func testReadoutsFollowTheirDefinitions() throws {
        let checkpoint = try checkpointWithDirections()
        let set = try XCTUnwrap(checkpoint.directionSets["sefa"])
        var rng = RandomGenerator(seed: 5)
        let z0 = checkpoint.sampleLatents(1, using: &rng)
        let walk = try Walk(checkpoint: checkpoint, z0: z0, direction: set.direction(0), stride: 0.6, mode: .linear)
        let frames = walk.render(steps: -2...2, with: checkpoint, layer: set.layer)
        XCTAssertEqual(frames.images.shape, [5, 3, 8, 8])
        let start = frames.readouts[2]
        XCTAssertEqual(start.step, 0)
        XCTAssertEqual(start.featureChange, 0)
        XCTAssertEqual(start.imageChange, 0)
        XCTAssertNil(start.psnr, "identical images: PSNR is infinite")
        XCTAssertEqual(start.priorLogDensityDrift, 0)
        XCTAssertEqual(start.learnedLogDensityDrift, 0)
        XCTAssertNil(start.coordinatesOutside, "Gaussian prior")

        for (r, z) in zip(frames.readouts, rows(frames.latents)) {
            let squared = dot(z, z)
            XCTAssertEqual(r.latentNorm, squared.squareRoot(), accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(r.priorLogDensity), -0.5 * squared - 4 * Float(log(2 * Double.pi)), accuracy: 1e-4)
            XCTAssertEqual(r.offset, Float(r.step) * 0.6, accuracy: 1e-6)
            if r.step != 0 {
                let psnr = try XCTUnwrap(r.psnr)
                XCTAssertGreaterThan(psnr, 0)
                XCTAssertGreaterThan(r.featureChange, 0)
            }
        }
        // Path length against a coarser central difference of the generator.
        let z = frames.latents.slice(axis: 0, 3..<4)
        let h: Float = 1e-2
        let plus = checkpoint.generate(z + walk.direction * h), minus = checkpoint.generate(z - walk.direction * h)
        let rms = withoutGrad { ((plus - minus) * 0.5).square().mean().scalar.squareRoot() } / (2 * h)
        XCTAssertEqual(frames.readouts[3].pathLength, rms, accuracy: 0.05 * rms)
    }

    func testUniformPriorReadoutsCountCoordinatesOutsideTheCube() throws {
        let checkpoint = TinyGenerator.linear(d: 8, prior: .uniform)
        let z0 = Tensor([0.85, 0, 0, 0, 0, 0, 0, -0.5], shape: [1, 8])
        let walk = try Walk(checkpoint: checkpoint, z0: z0, direction: Tensor([1, 0, 0, 0, 0, 0, 0, 1], shape: [8]),
                            stride: Float(0.5).squareRoot() * 0.2, mode: .linear)
        let frames = walk.render(steps: 0...4, with: checkpoint, layer: 2)
        // Coordinate 0 moves 0.85 → 0.85 + 0.1·s: outside from step 2 on; coordinate 7 stays inside.
        XCTAssertEqual(frames.readouts.map(\.coordinatesOutside), [0, 0, 1, 1, 1].map { Optional($0) })
        XCTAssertEqual(frames.readouts[0].priorLogDensity, 0)
        XCTAssertNil(frames.readouts[4].priorLogDensity, "−∞ outside the support")
        XCTAssertNil(frames.readouts[4].learnedLogDensity, "no F in this file")
    }

    func testExportWritesFramesLatentsAndReadoutsThatMatch() throws {
        let checkpoint = try checkpointWithDirections()
        let folder = TemporaryFolder()
        let path = folder.file("model.bin")
        try checkpoint.save(to: path)
        let loaded = try Checkpoint.load(path: path)

        var request = ExportRequest(direction: 1, mode: .density, stride: 0.5, steps: 3, source: .seed(7),
                                    output: folder.file("walk"))
        (request.grid, request.compare, request.gif) = (true, true, true)
        request.checkpointPath = path
        request.commandLine = ["latent-tui", "export", path]
        let result = try exportWalk(request, checkpoint: loaded)

        let names = Set(try FileManager.default.contentsOfDirectory(atPath: request.output))
        let frameNames = (0..<7).map { String(format: "frame_%03d.png", $0) }
        XCTAssertEqual(names, Set(frameNames + ["z.npy", "walk.json", "grid.png", "compare.png", "walk.gif"]))
        XCTAssertEqual(Set(result.files), names)

        let record = try WalkRecord.decoder.decode(WalkRecord.self,
                                                   from: Data(contentsOf: URL(fileURLWithPath: request.output + "/walk.json")))
        XCTAssertEqual(record, result.record)
        XCTAssertEqual(record.method, "dplase", "default method")
        XCTAssertEqual(record.seed, 7)
        XCTAssertEqual(record.frames.map(\.file), frameNames)
        XCTAssertEqual(record.frames.map(\.readouts.step), Array(-3...3))
        var rng = RandomGenerator(seed: 7)
        XCTAssertEqual(record.z0, loaded.sampleLatents(1, using: &rng).storage, "z0 from the seed")
        XCTAssertEqual(record.frames[3].z, record.z0, "z0 is frame n")

        let z = try NPY.read(path: request.output + "/z.npy")
        XCTAssertEqual(z.shape, [7, 8])
        XCTAssertEqual(rows(z), record.frames.map(\.z))

        // Decode the PNGs and measure the image readouts from them: they agree
        // with walk.json up to 8-bit rounding.
        let decoded = try frameNames.map { try PNG.read(request.output + "/" + $0).tensor().storage }
        let base = decoded[3]
        for (i, frame) in decoded.enumerated() {
            let readouts = record.frames[i].readouts
            let meanAbs = zip(frame, base).reduce(0) { $0 + abs($1.0 - $1.1) } / Float(frame.count)
            XCTAssertEqual(readouts.imageChange, meanAbs, accuracy: 1.0 / 255, "frame \(i)")
            let mse = zip(frame, base).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Float(frame.count)
            if i == 3 {
                XCTAssertNil(readouts.psnr)
            } else if mse > 1e-4 {
                XCTAssertEqual(try XCTUnwrap(readouts.psnr), 10 * log10(1 / mse), accuracy: 0.3, "frame \(i)")
            }
        }

        // Sheets: grid rows = the set's 3 directions, compare rows = 3 modes; 7 columns, gap 2.
        let sheetWidth = 7 * 8 + 8 * 2
        let gridImage = try PNG.read(request.output + "/grid.png")
        XCTAssertEqual([gridImage.width, gridImage.height], [sheetWidth, 3 * 8 + 4 * 2])
        let compareImage = try PNG.read(request.output + "/compare.png")
        XCTAssertEqual([compareImage.width, compareImage.height], [sheetWidth, 3 * 8 + 4 * 2])
        XCTAssertEqual(record.compareModes, ["linear", "norm", "density"])
        // The density row of the comparison is the exported walk (up to rounding
        // differences of a differently batched generator call).
        let corner = compareImage.cropped(x: 2, y: 2 + 2 * 10, width: 8, height: 8).pixels
        let firstFrame = try PNG.read(request.output + "/frame_000.png").pixels
        XCTAssertLessThanOrEqual(zip(corner, firstFrame).map { abs(Int($0) - Int($1)) }.max() ?? 99, 1)
        let gifBytes = try Data(contentsOf: URL(fileURLWithPath: request.output + "/walk.gif"))
        XCTAssertEqual(Array(gifBytes.prefix(6)), Array("GIF89a".utf8))
    }

    func testExistingFolderNeedsForce() throws {
        let checkpoint = try checkpointWithDirections()
        let folder = TemporaryFolder()
        var request = ExportRequest(method: "sefa", direction: 0, mode: .norm, stride: 0.3, steps: 1, source: .seed(1),
                                    output: folder.path)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: folder.file("notes.txt")))
        try Data().write(to: URL(fileURLWithPath: folder.file("frame_099.png")))
        XCTAssertThrowsError(try exportWalk(request, checkpoint: checkpoint)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badArgument)
            XCTAssertTrue("\(error)".contains("--force"))
        }
        request.force = true
        _ = try exportWalk(request, checkpoint: checkpoint)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        XCTAssertEqual(names, ["notes.txt", "frame_000.png", "frame_001.png", "frame_002.png", "z.npy", "walk.json"])
    }

    func testMissingMethodAndBadDirectionAreClearErrors() throws {
        let checkpoint = try checkpointWithDirections()
        let folder = TemporaryFolder()
        var request = ExportRequest(method: "pca", direction: 0, mode: .linear, stride: 1, steps: 1, source: .seed(1),
                                    output: folder.file("out"))
        request.checkpointPath = "m.bin"
        XCTAssertThrowsError(try exportWalk(request, checkpoint: checkpoint)) { error in
            guard let error = error as? InputError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .missingData)
            XCTAssertTrue(error.message.contains("latent-tui discover m.bin --method pca"), error.message)
        }
        request.method = "nope"
        XCTAssertThrowsError(try exportWalk(request, checkpoint: checkpoint)) {
            XCTAssertEqual(($0 as? InputError)?.key, "--method")
        }
        request.method = "sefa"
        request.direction = 3
        XCTAssertThrowsError(try exportWalk(request, checkpoint: checkpoint)) {
            XCTAssertEqual(($0 as? InputError)?.key, "--direction")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: request.output), "nothing written on bad input")

        let empty = TinyGenerator.linear(d: 8)
        XCTAssertThrowsError(try directionSet(nil, in: empty, file: "e.bin")) { error in
            XCTAssertEqual((error as? InputError)?.kind, .missingData)
            XCTAssertTrue("\(error)".contains("latent-tui discover e.bin"))
        }
    }

    func testStartingLatentFromAFileRow() throws {
        let checkpoint = TinyGenerator.linear(d: 8)
        let folder = TemporaryFolder()
        var rng = RandomGenerator(seed: 2)
        let z = Tensor.normal([3, 8], using: &rng)
        try NPY.write(z, to: folder.file("z.npy"))
        let row = try LatentSource.file(path: folder.file("z.npy"), row: 2).latent(for: checkpoint)
        XCTAssertEqual(row.storage, rows(z)[2])
        XCTAssertThrowsError(try LatentSource.file(path: folder.file("z.npy"), row: 3).latent(for: checkpoint)) {
            XCTAssertEqual(($0 as? InputError)?.key, "--row")
        }
        try NPY.write(Tensor.zeros([2, 5]), to: folder.file("bad.npy"))
        XCTAssertThrowsError(try LatentSource.file(path: folder.file("bad.npy"), row: 0).latent(for: checkpoint)) {
            XCTAssertEqual(($0 as? InputError)?.kind, .badNPY)
        }
    }

    func testFrameNamesHaveAtLeastThreeDigits() {
        XCTAssertEqual(frameFileName(4, count: 7), "frame_004.png")
        XCTAssertEqual(frameFileName(12, count: 2001), "frame_0012.png")
    }
}
