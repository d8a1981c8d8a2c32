import Foundation
import XCTest
@testable import NN
import Tensors

/// Shared helpers of the file-format tests (safetensors, .npy, malformed corpus).
enum FormatTestSupport {
    static func fixture(_ name: String) -> String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(name)").path
    }

    /// A fresh empty folder under the system temp dir.
    static func tempFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("nn-format-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Runs `body`, which must throw an `InputError` of `kind` naming `file`
    /// and `key`, with a one-line description "file: key: message".
    static func expectError(_ kind: InputError.Kind, file: String, key: String?,
                            _ message: String = "", sourceFile: StaticString = #filePath, line: UInt = #line,
                            _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected \(kind) error, got success \(message)", file: sourceFile, line: line)
        } catch let error as InputError {
            XCTAssertEqual(error.kind, kind, "\(error) \(message)", file: sourceFile, line: line)
            XCTAssertEqual(error.file, file, "\(error)", file: sourceFile, line: line)
            XCTAssertEqual(error.key, key, "\(error)", file: sourceFile, line: line)
            let prefix = ([file] + (key.map { [$0] } ?? [])).joined(separator: ": ") + ": "
            XCTAssertTrue(error.description.hasPrefix(prefix), "\(error)", file: sourceFile, line: line)
            XCTAssertFalse(error.description.contains("\n"), "not one line: \(error)", file: sourceFile, line: line)
            XCTAssertFalse(error.message.isEmpty, file: sourceFile, line: line)
        } catch {
            XCTFail("expected InputError.\(kind), got \(type(of: error)): \(error)", file: sourceFile, line: line)
        }
    }

    /// Runs python3 with `script` and `args`; nil when python3 or the module is missing.
    static func python(_ script: String, _ args: [String], needs modules: [String]) throws -> String? {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", modules.map { "import \($0)" }.joined(separator: "; ")]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        do { try check.run() } catch { return nil }
        check.waitUntilExit()
        guard check.terminationStatus == 0 else { return nil }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "python failed")
        return String(decoding: data, as: UTF8.self)
    }
}

final class SafetensorsTests: XCTestCase {
    private let trickyMetadata: [String: String] = [
        "format": "latent-tui/1",
        "generator": #"{"prefix": "main", "layers": [{"op": "relu"}], "note": "a \"quoted\" \\ path"}"#,
        "controls": "tab\tnewline\ncr\rbell\u{07}nul\u{0}del\u{7f}",
        "unicode": "é ✓ 🎨 \u{2028}",
        "": "empty key",
    ]

    private func sampleTensors() -> [(String, Tensor)] {
        [
            ("main.0.weight", Tensor((0..<24).map { Float($0) * 0.25 - 3 }, shape: [2, 3, 2, 2])),
            ("main.1.bias", Tensor([1, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude], shape: [4])),
            ("scalar", Tensor(42)),
            ("empty", Tensor.zeros([0, 3])),
            ("Upper", Tensor([7], shape: [1, 1])),
        ]
    }

    func testRoundTripThroughFile() throws {
        let folder = try FormatTestSupport.tempFolder()
        let path = folder + "/ckpt.safetensors"
        let tensors = sampleTensors()
        try SafetensorsFile.write(tensors: tensors, metadata: trickyMetadata, to: path)

        let file = try SafetensorsFile.read(path: path)
        XCTAssertEqual(file.metadata, trickyMetadata)
        XCTAssertEqual(file.names, tensors.map(\.0).sorted())
        for (name, tensor) in tensors {
            XCTAssertTrue(file.contains(name))
            XCTAssertEqual(file.info(name)?.dtype, "F32")
            XCTAssertEqual(file.info(name)?.shape, tensor.shape)
            let loaded = try file.tensor(name)
            XCTAssertEqual(loaded.shape, tensor.shape, name)
            XCTAssertEqual(loaded.storage.map(\.bitPattern), tensor.storage.map(\.bitPattern), name)
        }
        XCTAssertFalse(file.contains("missing"))
        XCTAssertNil(file.info("missing"))
        // Only the target remains: the temp file was renamed.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["ckpt.safetensors"])
    }

    func testSerializedLayout() throws {
        let bytes = try SafetensorsFile.serialize(tensors: sampleTensors(), metadata: ["b": "2", "a": "1"])
        var length = 0
        for i in 0..<8 { length |= Int(bytes[i]) << (8 * i) }
        XCTAssertEqual(length % 8, 0, "header padded to a multiple of 8")
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix(#"{"__metadata__":{"a":"1","b":"2"},"Upper":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"#), header)
        XCTAssertTrue(header.hasSuffix("}") || header.hasSuffix(" "))
        // Tensors in name order, contiguous.
        let file = try SafetensorsFile(bytes: bytes, name: "mem")
        XCTAssertEqual(file.entries.map(\.name), ["Upper", "empty", "main.0.weight", "main.1.bias", "scalar"])
        // Input order does not matter.
        let reversed = try SafetensorsFile.serialize(tensors: sampleTensors().reversed(), metadata: ["a": "1", "b": "2"])
        XCTAssertEqual(bytes, reversed)
        let dict = try SafetensorsFile.serialize(tensors: Dictionary(uniqueKeysWithValues: sampleTensors().map { ($0.0, $0.1) }),
                                                 metadata: ["a": "1", "b": "2"])
        XCTAssertEqual(bytes, dict)
    }

    func testWriterRejectsDuplicateAndReservedNames() {
        let t = Tensor([1], shape: [1])
        XCTAssertThrowsError(try SafetensorsFile.serialize(tensors: [("a", t), ("b", t), ("a", t)])) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badArgument)
            XCTAssertEqual((error as? InputError)?.key, "a")
        }
        XCTAssertThrowsError(try SafetensorsFile.serialize(tensors: [("__metadata__", t)])) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badArgument)
        }
    }

    func testReadsFileWrittenByPythonSafetensors() throws {
        let path = FormatTestSupport.fixture("py_dtypes.safetensors")
        let file = try SafetensorsFile.read(path: path)
        XCTAssertEqual(file.metadata, ["format": "latent-tui/1",
                                       "note": "quote \" backslash \\ newline \n unicode é ✓"])
        XCTAssertEqual(file.names, ["bf16", "f16", "f32", "f64", "i64"])

        let f32 = try file.tensor("f32")
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertEqual(f32.storage, (0..<6).map { Float($0) * 0.5 - 1 })

        let f16 = try file.tensor("f16")
        XCTAssertEqual(f16.storage, [1, -2.5, 65504, Float(bitPattern: 0x3380_0000), 0.333251953125])

        let bf16 = try file.tensor("bf16")
        let expected: [Float] = ([1, -3, 0.15625, 1e30] as [Float]).map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
        XCTAssertEqual(bf16.storage, expected)

        let f64 = try file.tensor("f64")
        XCTAssertEqual(f64.storage, [Float(0.1), -1e10])

        XCTAssertEqual(file.info("i64")?.dtype, "I64")
        XCTAssertEqual(file.info("i64")?.shape, [1])
        FormatTestSupport.expectError(.unknownDType, file: path, key: "i64") { _ = try file.tensor("i64") }
        FormatTestSupport.expectError(.missingTensor, file: path, key: "nope") { _ = try file.tensor("nope") }
    }

    func testReadsTorchCheckpointFixtures() throws {
        for name in ["dcgan_convt", "dcgan_linear", "bare_sequential", "dcgan_f16"] {
            let path = FormatTestSupport.fixture("\(name).safetensors")
            let file = try SafetensorsFile.read(path: path)
            XCTAssertEqual(file.metadata["format"], "latent-tui/1", name)
            XCTAssertNotNil(file.metadata["generator"], name)
            XCTAssertFalse(file.names.isEmpty)
            for key in file.names {
                guard let info = file.info(key) else { return XCTFail(key) }
                if info.dtype == "I64" { continue }
                let t = try file.tensor(key)
                XCTAssertEqual(t.shape, info.shape)
                try checkFinite(t, file: path, key: key)
            }
        }
    }

    func testPythonSafetensorsReadsOurFile() throws {
        let folder = try FormatTestSupport.tempFolder()
        let path = folder + "/ours.safetensors"
        try SafetensorsFile.write(tensors: sampleTensors(), metadata: trickyMetadata, to: path)
        let script = """
            import json, sys
            from safetensors import safe_open
            from safetensors.numpy import load_file
            t = load_file(sys.argv[1])
            with safe_open(sys.argv[1], framework="np") as f:
                meta = f.metadata()
            print(json.dumps({"meta": meta, "tensors": {k: [list(v.shape), str(v.dtype), [float(x) for x in v.ravel()]] for k, v in t.items()}}))
            """
        guard let output = try FormatTestSupport.python(script, [path], needs: ["numpy", "safetensors"]) else {
            throw XCTSkip("python3 with numpy and safetensors is not available")
        }
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        XCTAssertEqual(json["meta"] as? [String: String], trickyMetadata)
        let tensors = json["tensors"] as! [String: [Any]]
        XCTAssertEqual(Set(tensors.keys), Set(sampleTensors().map(\.0)))
        for (name, tensor) in sampleTensors() {
            let entry = tensors[name]!
            XCTAssertEqual(entry[0] as? [Int], tensor.shape, name)
            XCTAssertEqual(entry[1] as? String, "float32", name)
            XCTAssertEqual((entry[2] as? [Double])?.map { Float($0) }, tensor.storage, name)
        }
    }

    func testHalfConversionMatchesFloat16ForAllBitPatterns() throws {
        #if arch(x86_64) && os(macOS)
        throw XCTSkip("Float16 is not available on Intel macOS")
        #else
        for bits in 0...UInt16.max {
            let ours = halfToFloat(bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                XCTAssertTrue(ours.isNaN, "\(bits)")
            } else {
                XCTAssertEqual(ours.bitPattern, reference.bitPattern, "half 0x\(String(bits, radix: 16))")
            }
        }
        #endif
    }

    func testCheckFinite() throws {
        try checkFinite(Tensor([1, 2, 3]), file: "f", key: "k")
        FormatTestSupport.expectError(.nonFinite, file: "f", key: "k") { try checkFinite(Tensor([1, .nan]), file: "f", key: "k") }
        FormatTestSupport.expectError(.nonFinite, file: "f", key: "k") { try checkFinite(Tensor([-.infinity]), file: "f", key: "k") }
    }

    func testWriteAtomicallyReplacesAndCleansUp() throws {
        let folder = try FormatTestSupport.tempFolder()
        let path = folder + "/out.bin"
        XCTAssertFalse(fileExists(path))
        try writeAtomically([1, 2, 3], to: path)
        XCTAssertTrue(fileExists(path))
        try writeAtomically(Data([4, 5]), to: path)
        XCTAssertEqual(try readWholeFile(path), [4, 5])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["out.bin"])

        // A missing folder fails with one line naming the path, and leaves nothing behind.
        XCTAssertThrowsError(try writeAtomically([1], to: folder + "/no/such/dir/x.bin")) { error in
            XCTAssertTrue(error is FileWriteError)
            XCTAssertTrue("\(error)".hasPrefix(folder + "/no/such/dir/x.bin: "), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"))
        }
        // A folder as the target: rename fails, the temp file is removed.
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: false)
        try writeAtomically([9], to: folder + "/sub/keep")
        XCTAssertThrowsError(try writeAtomically([1], to: folder + "/sub"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["out.bin", "sub"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder + "/sub"), ["keep"])
    }

    func testReadOfMissingOrFolderIsUnreadable() throws {
        let folder = try FormatTestSupport.tempFolder()
        FormatTestSupport.expectError(.unreadable, file: folder + "/none.safetensors", key: nil) {
            _ = try SafetensorsFile.read(path: folder + "/none.safetensors")
        }
        FormatTestSupport.expectError(.unreadable, file: folder, key: nil) {
            _ = try SafetensorsFile.read(path: folder)
        }
    }

    // MARK: the header JSON parser

    private func parse(_ text: String) throws -> StrictJSON {
        try StrictJSONParser.parse(Array(text.utf8))
    }

    func testJSONParserAcceptsValidJSON() throws {
        guard case .string(let s) = try parse(#" "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83c\udfa8\u0000" "#) else { return XCTFail() }
        XCTAssertEqual(s, "a\"b\\c/d\u{8}\u{c}\n\r\té🎨\u{0}")
        guard case .array(let items) = try parse("[0, -1, 1.5e3, 2E-2, true, false, null, {}, []]") else { return XCTFail() }
        XCTAssertEqual(items.count, 9)
        if case .number(let n) = items[2] { XCTAssertEqual(n, "1.5e3") } else { XCTFail() }
        XCTAssertEqual(items[0].nonNegativeInt, 0)
        XCTAssertNil(items[1].nonNegativeInt)
        XCTAssertNil(items[2].nonNegativeInt)
        XCTAssertEqual(StrictJSON.number("9223372036854775807").nonNegativeInt, Int.max)
        XCTAssertNil(StrictJSON.number("9223372036854775808").nonNegativeInt)
        guard case .object(let members) = try parse(#"{"a": {"x": [1]}, "b": 2}"#) else { return XCTFail() }
        XCTAssertEqual(members.map(\.key), ["a", "b"])
        _ = try parse(String(repeating: "[", count: 128) + String(repeating: "]", count: 128))
    }

    func testJSONParserRejectsInvalidJSON() {
        let bad = [
            "", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "-", "1.", "1e", ".5", "+1",
            "\"abc", "\"\\x\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
            "\"tab\there\"", "tru", "nul", "[1 2]", "{} {}", "\"a\" x", "NaN", "Infinity",
            "{\"a\":1,\"a\":2}", "{\"k\":{\"a\":1,\"a\":1}}",
            // Canonically equivalent keys (precomposed and combining é) could not both be looked up.
            #"{"\u00e9":1,"e\u0301":2}"#,
            String(repeating: "[", count: 129) + String(repeating: "]", count: 129),
            String(repeating: "[", count: 100_000),
        ]
        for text in bad {
            XCTAssertThrowsError(try parse(text), text)
        }
        // Invalid UTF-8 (overlong, surrogate, beyond U+10FFFF, lone continuation).
        for bytes: [UInt8] in [[0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
                               [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22]] {
            XCTAssertThrowsError(try StrictJSONParser.parse(bytes), "\(bytes)")
        }
    }

    func testUTF8ValidatorAgreesWithStdlib() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...6, using: &rng)).map { _ in
                [0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xA0, 0xED, 0x9F, 0xEF, 0xF0, 0x90, 0xF4, 0x8F, 0xF5, 0xFF]
                    .randomElement(using: &rng)! as UInt8
            }
            let ours = firstInvalidUTF8(bytes, 0..<bytes.count) == nil
            // Decoding repairs invalid input, so a byte-exact round trip means valid UTF-8.
            let roundTrip = Array(String(decoding: bytes, as: UTF8.self).utf8) == bytes
            XCTAssertEqual(ours, roundTrip, "\(bytes)")
        }
    }
}
