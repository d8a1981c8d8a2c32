import XCTest
@testable import NN
import Tensors

/// The malformed-checkpoint corpus, crafted byte by byte: each case must give
/// its own `InputError.Kind`, name the file and the offending key, and never crash.
final class MalformedCheckpointTests: XCTestCase {
    private let fileName = "bad.safetensors"

    /// A file from a header text and a data section; `length` overrides the
    /// 8-byte header length, `pad` adds spaces as writers do.
    private func craft(_ header: String, data: [UInt8] = [], length: UInt64? = nil, pad: Bool = true) -> [UInt8] {
        var h = Array(header.utf8)
        while pad, h.count % 8 != 0 { h.append(0x20) }
        return craftRaw(h, data: data, length: length)
    }

    private func craftRaw(_ header: [UInt8], data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let n = length ?? UInt64(header.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + header + data
    }

    private func spec(_ shape: [Int], _ begin: Int, _ end: Int) -> String {
        spec("F32", shape, begin, end)
    }

    private func spec(_ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        #"{"dtype":"\#(dtype)","shape":[\#(shape.map(String.init).joined(separator: ","))],"data_offsets":[\#(begin),\#(end)]}"#
    }

    private func expect(_ kind: InputError.Kind, key: String?, _ bytes: [UInt8],
                        file: StaticString = #filePath, line: UInt = #line) {
        FormatTestSupport.expectError(kind, file: fileName, key: key, sourceFile: file, line: line) {
            _ = try SafetensorsFile(bytes: bytes, name: fileName)
        }
    }

    private var valid: [UInt8] {
        craft(#"{"__metadata__":{"format":"latent-tui/1"},"a":\#(spec([2], 0, 8)),"b":\#(spec("F16", [3], 8, 14))}"#,
              data: [UInt8](repeating: 0, count: 14))
    }

    func testValidBaselineParses() throws {
        let file = try SafetensorsFile(bytes: valid, name: fileName)
        XCTAssertEqual(file.names, ["a", "b"])
        XCTAssertEqual(file.metadata, ["format": "latent-tui/1"])
        XCTAssertEqual(try file.tensor("b").storage, [0, 0, 0])
        // Trailing whitespace of any JSON kind, no padding, and explicit null metadata are accepted.
        _ = try SafetensorsFile(bytes: craft("{} \n\t\r", pad: false), name: fileName)
        _ = try SafetensorsFile(bytes: craft(#"{"__metadata__":null}"#), name: fileName)
        // Zero-sized tensors may share an offset; unknown entry fields are ignored.
        let zeros = try SafetensorsFile(bytes: craft(#"{"z1":\#(spec([0], 0, 0)),"z2":{"dtype":"I8","shape":[0,5],"data_offsets":[0,0],"extra":[1]},"a":\#(spec([1], 0, 4))}"#,
                                                     data: [0, 0, 0x80, 0x3f]), name: fileName)
        XCTAssertEqual(try zeros.tensor("a").storage, [1])
        XCTAssertEqual(try zeros.tensor("z1").shape, [0])
    }

    func testTruncatedFile() {
        expect(.truncated, key: nil, [])
        expect(.truncated, key: nil, Array(valid.prefix(5)))
        // Cut inside the header: the length now points past the end.
        expect(.truncated, key: nil, Array(valid.prefix(20)))
    }

    func testTruncatedData() {
        // Cut inside the data section: the last tensor runs past the end.
        expect(.badOffsets, key: "b", Array(valid.dropLast(1)))
    }

    func testHeaderLengthBeyondTheFile() {
        expect(.truncated, key: nil, craft("{}", length: 1000))
        expect(.badHeader, key: nil, craft("{}", length: 100_000_001))
        expect(.badHeader, key: nil, craft("{}", length: UInt64.max))
        // Another kind of file is named as such, not only by its header length.
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64)
        XCTAssertThrowsError(try SafetensorsFile(bytes: png, name: "photo.png")) { error in
            XCTAssertTrue("\(error)".hasPrefix("photo.png: not a safetensors file"), "\(error)")
        }
    }

    func testHeaderNotJSON() {
        expect(.badHeader, key: nil, craft("not json"))
        expect(.badHeader, key: nil, craft("", pad: false))
        expect(.badHeader, key: nil, craft(#"{"a":\#(spec([1], 0, 4))"#, data: [0, 0, 0, 0]))
        expect(.badHeader, key: nil, craft("{} x"))
        expect(.badHeader, key: nil, craftRaw([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D, 0x20]))  // invalid UTF-8
        expect(.badHeader, key: nil, craftRaw([0x7B, 0x7D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]))  // NUL padding
        // A syntax error inside an entry names that entry.
        expect(.badHeader, key: "w", craft(#"{"w":{"dtype":"F32","shape":[1,],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        // Hostile nesting is an error, not a stack overflow.
        expect(.badHeader, key: "w", craft(#"{"w":"# + String(repeating: "[", count: 50_000)))
    }

    func testHeaderJSONNotAnObject() {
        expect(.badHeader, key: nil, craft("[1, 2, 3]"))
        expect(.badHeader, key: nil, craft(#""string""#))
        expect(.badHeader, key: nil, craft(#" {"a":1}"#))  // must start with '{'
        expect(.badHeader, key: "a", craft(#"{"a":[1,2]}"#))  // entry not an object
    }

    func testDuplicateKey() {
        let e = spec([1], 0, 4)
        expect(.badHeader, key: "a", craft(#"{"a":\#(e),"a":\#(e)}"#, data: [0, 0, 0, 0]))
        // Duplicates inside an entry or the metadata are rejected too.
        expect(.badHeader, key: "a", craft(#"{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        expect(.badHeader, key: "__metadata__", craft(#"{"__metadata__":{"k":"1","k":"2"}}"#))
        expect(.badHeader, key: "__metadata__", craft(#"{"__metadata__":{},"__metadata__":{}}"#))
    }

    func testOffsetsOverlapping() {
        expect(.badOffsets, key: "b", craft(#"{"a":\#(spec([2], 0, 8)),"b":\#(spec([2], 4, 12))}"#, data: .init(repeating: 0, count: 12)))
        // Two tensors on the same bytes.
        expect(.badOffsets, key: "b", craft(#"{"a":\#(spec([2], 0, 8)),"b":\#(spec([2], 0, 8))}"#, data: .init(repeating: 0, count: 8)))
    }

    func testOffsetsOutOfBounds() {
        expect(.badOffsets, key: "a", craft(#"{"a":\#(spec([4], 0, 16))}"#, data: .init(repeating: 0, count: 8)))
        expect(.badOffsets, key: "a", craft(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#))
        expect(.badOffsets, key: "a", craft(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,9223372036854775807]}}"#))
        expect(.badOffsets, key: "a", craft(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#))
        expect(.badOffsets, key: "a", craft(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: [0, 0, 0, 0]))
        expect(.badOffsets, key: "a", craft(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#))
        expect(.badOffsets, key: "a", craft(#"{"a":{"dtype":"F32","shape":[1]}}"#))
    }

    func testHoleBetweenTensors() {
        expect(.badOffsets, key: "b", craft(#"{"a":\#(spec([1], 0, 4)),"b":\#(spec([1], 8, 12))}"#, data: .init(repeating: 0, count: 12)))
        // The first tensor must start at 0, and bytes after the last tensor are not allowed.
        expect(.badOffsets, key: "a", craft(#"{"a":\#(spec([1], 4, 8))}"#, data: .init(repeating: 0, count: 8)))
        expect(.badOffsets, key: "a", craft(#"{"a":\#(spec([1], 0, 4))}"#, data: .init(repeating: 0, count: 8)))
        expect(.badOffsets, key: nil, craft("{}", data: [1]))
    }

    func testUnknownDType() {
        expect(.unknownDType, key: "a", craft(#"{"a":\#(spec("F128", [1], 0, 16))}"#, data: .init(repeating: 0, count: 16)))
        expect(.unknownDType, key: "a", craft(#"{"a":\#(spec("f32", [1], 0, 4))}"#, data: .init(repeating: 0, count: 4)))
        expect(.badHeader, key: "a", craft(#"{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        expect(.badHeader, key: "a", craft(#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        // Known but unread dtypes load as entries and fail only when decoded.
        let bytes = craft(#"{"a":\#(spec("I32", [1], 0, 4)),"b":\#(spec("F4", [2], 4, 5))}"#, data: .init(repeating: 0, count: 5))
        FormatTestSupport.expectError(.unknownDType, file: fileName, key: "a") {
            _ = try SafetensorsFile(bytes: bytes, name: fileName).tensor("a")
        }
    }

    func testShapeTimesDTypeNotSpan() {
        expect(.shapeMismatch, key: "a", craft(#"{"a":\#(spec([3], 0, 8))}"#, data: .init(repeating: 0, count: 8)))
        expect(.shapeMismatch, key: "a", craft(#"{"a":\#(spec("F16", [2, 2], 0, 4))}"#, data: .init(repeating: 0, count: 4)))
        // Sub-byte dtypes must end on a byte boundary.
        expect(.shapeMismatch, key: "a", craft(#"{"a":\#(spec("F4", [3], 0, 1))}"#, data: [0]))
        // Overflowing products are caught, not wrapped.
        expect(.shapeMismatch, key: "a", craft(#"{"a":\#(spec([4_294_967_296, 4_294_967_296], 0, 0))}"#))
        expect(.shapeMismatch, key: "a", craft(#"{"a":\#(spec([4_294_967_296, 4_294_967_296, 0], 0, 0))}"#))
        // As in the reference (a checked product from the left), a zero before the huge dimensions keeps it 0.
        XCTAssertNoThrow(try SafetensorsFile(bytes: craft(#"{"a":\#(spec([0, 4_294_967_296, 4_294_967_296], 0, 0))}"#), name: fileName))
        expect(.badHeader, key: "a", craft(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#))
        expect(.badHeader, key: "a", craft(#"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        expect(.badHeader, key: "a", craft(#"{"a":{"dtype":"F32","shape":3,"data_offsets":[0,12]}}"#))
    }

    func testMetadataValueNotAString() {
        expect(.badMetadata, key: "k", craft(#"{"__metadata__":{"k":1}}"#))
        expect(.badMetadata, key: "k", craft(#"{"__metadata__":{"format":"x","k":{"nested":"obj"}}}"#))
        expect(.badMetadata, key: "__metadata__", craft(#"{"__metadata__":["format"]}"#))
        expect(.badMetadata, key: "__metadata__", craft(#"{"__metadata__":"x"}"#))
    }

    /// Every truncation and every single-byte corruption of a valid file either
    /// parses or throws an `InputError`; decoding what parsed never traps.
    func testCorruptionSweepNeverCrashes() {
        let base = valid
        var outcomes: [InputError.Kind: Int] = [:]
        func attempt(_ bytes: [UInt8]) {
            do {
                let file = try SafetensorsFile(bytes: bytes, name: fileName)
                for key in file.names { _ = try? file.tensor(key) }
            } catch let error as InputError {
                outcomes[error.kind, default: 0] += 1
                XCTAssertEqual(error.file, fileName)
                XCTAssertFalse(error.description.contains("\n"))
            } catch {
                XCTFail("not an InputError: \(error)")
            }
        }
        for cut in 0..<base.count { attempt(Array(base.prefix(cut))) }
        for i in 0..<base.count {
            for value: UInt8 in [0x00, 0x20, 0x22, 0x2C, 0x39, 0x5B, 0x7B, 0x7D, 0xFF] where base[i] != value {
                var bytes = base
                bytes[i] = value
                attempt(bytes)
            }
        }
        XCTAssertGreaterThan(outcomes[.badHeader, default: 0], 0)
        XCTAssertGreaterThan(outcomes[.truncated, default: 0], 0)
    }
}
