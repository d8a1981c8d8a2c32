import Foundation
import XCTest
@testable import NN
import Tensors

final class NPYTests: XCTestCase {
    private let fileName = "z.npy"

    private func expect(_ kind: InputError.Kind = .badNPY, key: String?, _ bytes: [UInt8],
                        file: StaticString = #filePath, line: UInt = #line) {
        FormatTestSupport.expectError(kind, file: fileName, key: key, sourceFile: file, line: line) {
            _ = try NPY.parse(bytes: bytes, name: fileName)
        }
    }

    /// A version 1.0 file with `header` (padded as NumPy does) and `data`.
    private func craft(_ header: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
        var h = Array(header.utf8)
        let preamble = version == 1 ? 10 : 12
        while (preamble + h.count + 1) % 64 != 0 { h.append(0x20) }
        h.append(0x0A)
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        for i in 0..<(preamble - 8) { out.append(UInt8(truncatingIfNeeded: h.count >> (8 * i))) }
        return out + h + data
    }

    private func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    func testSerializeLayout() throws {
        let t = Tensor((0..<6).map(Float.init), shape: [2, 3])
        let bytes = NPY.serialize(t)
        XCTAssertEqual(Array(bytes[0..<8]), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0, "data 64-byte aligned")
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header)
        XCTAssertTrue(header.hasSuffix(" \n"))
        XCTAssertEqual(Array(bytes[(10 + headerLength)...]), floatBytes(t.storage))

        let oneD = NPY.serialize(Tensor([1, 2], shape: [2]))
        XCTAssertTrue(String(decoding: oneD, as: UTF8.self).contains("'shape': (2,), }"))
    }

    func testRoundTripThroughFile() throws {
        let folder = try FormatTestSupport.tempFolder()
        let path = folder + "/z.npy"
        let t = Tensor([1.5, -2, .leastNonzeroMagnitude, 3e38, 0, -0.0, 7, 8], shape: [4, 2])
        try NPY.write(t, to: path)
        let back = try NPY.read(path: path)
        XCTAssertEqual(back.shape, [4, 2])
        XCTAssertEqual(back.storage.map(\.bitPattern), t.storage.map(\.bitPattern))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["z.npy"])
        // Empty batches survive too.
        XCTAssertEqual(try NPY.parse(bytes: NPY.serialize(Tensor.zeros([0, 5])), name: fileName).shape, [0, 5])
    }

    func testReadsNumpyFixtures() throws {
        let f32 = try NPY.read(path: FormatTestSupport.fixture("z_f32.npy"))
        XCTAssertEqual(f32.shape, [3, 4])
        XCTAssertEqual(f32.storage, (0..<12).map { Float($0) / 8 - 0.5 })

        let f64 = try NPY.read(path: FormatTestSupport.fixture("z_f64.npy"))
        XCTAssertEqual(f64.shape, [2, 5])
        XCTAssertEqual(f64.storage, (0..<10).map { Float((Double($0) - 4.5) / 3) })

        let oneD = try NPY.read(path: FormatTestSupport.fixture("z_1d.npy"))
        XCTAssertEqual(oneD.shape, [1, 6])
        XCTAssertEqual(oneD.storage, (0..<6).map { Float($0) - 2.5 })

        // The torch fixture generator's z files, too.
        let z = try NPY.read(path: FormatTestSupport.fixture("dcgan_convt.z.npy"))
        XCTAssertEqual(z.shape.count, 2)
    }

    func testRejectsNumpyFilesOfTheWrongKind() {
        let cases: [(String, String)] = [("z_fortran.npy", "fortran_order"), ("z_int.npy", "descr"),
                                         ("z_be.npy", "descr"), ("z_3d.npy", "shape")]
        for (fixture, key) in cases {
            let path = FormatTestSupport.fixture(fixture)
            FormatTestSupport.expectError(.badNPY, file: path, key: key, fixture) { _ = try NPY.read(path: path) }
        }
        // Also a rank-4 image array, as the torch fixtures store model outputs.
        let out = FormatTestSupport.fixture("dcgan_convt.out.npy")
        FormatTestSupport.expectError(.badNPY, file: out, key: "shape") { _ = try NPY.read(path: out) }
    }

    func testNumpyReadsOurFile() throws {
        let folder = try FormatTestSupport.tempFolder()
        let path = folder + "/ours.npy"
        let t = Tensor((0..<15).map { Float($0) * 0.1 - 0.7 }, shape: [3, 5])
        try NPY.write(t, to: path)
        let script = """
            import json, sys
            import numpy as np
            a = np.load(sys.argv[1])
            print(json.dumps([str(a.dtype), list(a.shape), bool(a.flags['C_CONTIGUOUS']), [float(x) for x in a.ravel()]]))
            """
        guard let output = try FormatTestSupport.python(script, [path], needs: ["numpy"]) else {
            throw XCTSkip("python3 with numpy is not available")
        }
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [Any]
        XCTAssertEqual(json[0] as? String, "float32")
        XCTAssertEqual(json[1] as? [Int], [3, 5])
        XCTAssertEqual(json[2] as? Bool, true)
        XCTAssertEqual((json[3] as? [Double])?.map { Float($0) }, t.storage)
    }

    func testCraftedHeaders() throws {
        let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }"
        XCTAssertEqual(try NPY.parse(bytes: craft(good, data: floatBytes([1, 2])), name: fileName).storage, [1, 2])
        // Double quotes, no trailing comma, list shape, version 2 and 3: accepted.
        let variant = #"{"shape": [1, 2], "fortran_order": False, "descr": "<f4"}"#
        XCTAssertEqual(try NPY.parse(bytes: craft(variant, data: floatBytes([1, 2]), version: 2), name: fileName).shape, [1, 2])
        XCTAssertEqual(try NPY.parse(bytes: craft(good, data: floatBytes([1, 2]), version: 3), name: fileName).shape, [1, 2])
        // Trailing bytes after the data are ignored, as np.load does.
        XCTAssertEqual(try NPY.parse(bytes: craft(good, data: floatBytes([1, 2, 3])), name: fileName).storage, [1, 2])

        expect(key: nil, [])
        expect(key: nil, Array("not an npy file at all".utf8))
        expect(key: nil, Array(craft(good).prefix(8)))
        expect(key: nil, Array(craft(good).prefix(40)))  // header cut
        expect(key: nil, craft(good, data: floatBytes([1])))  // data cut
        expect(key: nil, craft(good, version: 9))
        expect(key: nil, craft("garbage"))
        expect(key: nil, craft("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)"))
        expect(key: nil, craft("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), } x"))
        expect(key: nil, craft("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 2), }"))
        expect(key: "descr", craft("{'fortran_order': False, 'shape': (1, 2), }"))
        expect(key: "shape", craft("{'descr': '<f4', 'fortran_order': False, }"))
        expect(key: "fortran_order", craft("{'descr': '<f4', 'shape': (1, 2), }"))
        expect(key: "fortran_order", craft("{'descr': '<f4', 'fortran_order': 0, 'shape': (1, 2), }"))
        expect(key: "extra", craft("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), 'extra': 1}"))
        expect(key: "descr", craft("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }"))
        expect(key: "descr", craft("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", data: [0, 0, 0, 0, 0, 0, 0, 0]))
        expect(key: "descr", craft("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"))
        expect(key: "descr", craft("{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }"))
        expect(key: "shape", craft("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: [0, 0, 0, 0]))
        expect(key: "shape", craft("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }"))
        expect(key: "shape", craft("{'descr': '<f4', 'fortran_order': False, 'shape': ('a', 2), }"))
        expect(key: "shape", craft("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
        expect(key: nil, craft("{'descr': '<f4', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 10_000) + "}"))
    }

    func testReadArrayKeepsAnyRank() throws {
        let out = try NPY.readArray(path: FormatTestSupport.fixture("dcgan_convt.out.npy"))
        XCTAssertEqual(out.shape.count, 4)
        XCTAssertEqual(out.shape[0...1], [4, 3])
        XCTAssertEqual(try NPY.readArray(path: FormatTestSupport.fixture("z_3d.npy")).shape, [2, 2, 2])
        XCTAssertEqual(try NPY.readArray(path: FormatTestSupport.fixture("z_1d.npy")).shape, [6])
        let scalar = try NPY.parseArray(bytes: NPY.serialize(Tensor(2.5)), name: fileName)
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.storage, [2.5])
        // Non-finite values are data here; the other format rules still hold.
        XCTAssertTrue(try NPY.parseArray(bytes: NPY.serialize(Tensor([.nan], shape: [1])), name: fileName).storage[0].isNaN)
        let fortran = FormatTestSupport.fixture("z_fortran.npy")
        FormatTestSupport.expectError(.badNPY, file: fortran, key: "fortran_order") { _ = try NPY.readArray(path: fortran) }
        FormatTestSupport.expectError(.badNPY, file: fileName, key: "shape") {
            _ = try NPY.parseArray(bytes: craft("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }"), name: fileName)
        }
    }

    func testNonFiniteValuesAreRejected() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
        expect(.nonFinite, key: nil, craft(header, data: floatBytes([0, 1, .nan, 2])))
        expect(.nonFinite, key: nil, craft(header, data: floatBytes([0, .infinity, 1, 2])))
        // float64 beyond the float32 range becomes infinite: rejected too.
        let f64 = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"
        expect(.nonFinite, key: nil, craft(f64, data: withUnsafeBytes(of: (1e300).bitPattern.littleEndian) { Array($0) }))
    }

    func testMissingFileIsUnreadable() throws {
        let path = try FormatTestSupport.tempFolder() + "/none.npy"
        FormatTestSupport.expectError(.unreadable, file: path, key: nil) { _ = try NPY.read(path: path) }
    }

    func testCorruptionSweepNeverCrashes() {
        let base = NPY.serialize(Tensor([1, 2, 3, 4], shape: [2, 2]))
        func attempt(_ bytes: [UInt8]) {
            _ = try? NPY.parseArray(bytes: bytes, name: fileName)
            do { _ = try NPY.parse(bytes: bytes, name: fileName) } catch let error as InputError {
                XCTAssertEqual(error.file, fileName)
                XCTAssertFalse(error.description.contains("\n"))
            } catch { XCTFail("not an InputError: \(error)") }
        }
        for cut in 0..<base.count { attempt(Array(base.prefix(cut))) }
        for i in 0..<base.count {
            for value: UInt8 in [0x00, 0x20, 0x27, 0x28, 0x29, 0x2C, 0x39, 0x7B, 0x7D, 0xFF] where base[i] != value {
                var bytes = base
                bytes[i] = value
                attempt(bytes)
            }
        }
    }
}
