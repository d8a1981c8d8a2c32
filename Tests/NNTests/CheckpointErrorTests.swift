import Foundation
import NN
import Tensors
import XCTest

/// Checkpoints whose container is valid but whose content does not fit the spec:
/// each gives a typed error naming the file and the offending key.
final class CheckpointErrorTests: XCTestCase {
    let fileName = "bad.bin"

    func fixture() throws -> SafetensorsFile {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "dcgan_linear", withExtension: "safetensors", subdirectory: "Fixtures"))
        return try SafetensorsFile.read(path: url.path)
    }

    /// Rebuilds the fixture with `edit` applied to its tensors and metadata, then loads it.
    func load(_ edit: (inout [(String, Tensor)], inout [String: String]) -> Void) throws -> Checkpoint {
        let file = try fixture()
        var tensors = try file.names.filter { file.info($0)?.dtype != "I64" }.map { ($0, try file.tensor($0)) }
        var metadata = file.metadata
        edit(&tensors, &metadata)
        let bytes = try SafetensorsFile.serialize(tensors: tensors, metadata: metadata)
        return try Checkpoint(file: SafetensorsFile(bytes: bytes, name: fileName), name: fileName)
    }

    func expect(_ kind: InputError.Kind, key: String, file: StaticString = #filePath, line: UInt = #line,
                _ edit: (inout [(String, Tensor)], inout [String: String]) -> Void) {
        XCTAssertThrowsError(try load(edit), file: file, line: line) { error in
            guard let error = error as? InputError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, kind, error.description, file: file, line: line)
            XCTAssertEqual(error.file, self.fileName, file: file, line: line)
            XCTAssertTrue(error.key?.contains(key) ?? false, "key \(error.key ?? "nil") should name \(key)", file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), "one line", file: file, line: line)
        }
    }

    func testTheUneditedFixtureLoads() throws {
        XCTAssertEqual(try load { _, _ in }.latentDimension, 16)
    }

    func testMissingTensor() {
        expect(.missingTensor, key: "net.4.weight") { tensors, _ in tensors.removeAll { $0.0 == "net.4.weight" } }
    }

    func testShapeDifferentFromTheSpec() {
        expect(.shapeMismatch, key: "net.0.weight") { tensors, _ in
            tensors = tensors.map { $0.0 == "net.0.weight" ? ($0.0, Tensor.zeros([512, 15])) : $0 }
        }
    }

    func testNaNInWeights() {
        expect(.nonFinite, key: "net.7.weight") { tensors, _ in
            tensors = tensors.map { pair in
                guard pair.0 == "net.7.weight" else { return pair }
                var values = pair.1.storage
                values[3] = .nan
                return (pair.0, Tensor(shape: pair.1.shape, storage: values))
            }
        }
    }

    func testUnknownOp() {
        expect(.badSpec, key: "generator.layers[3]") { _, metadata in
            metadata["generator"] = metadata["generator"]!.replacingOccurrences(of: #""op":"relu""#, with: #""op":"swish""#)
                .replacingOccurrences(of: #""op": "relu""#, with: #""op": "swish""#)
        }
    }

    func testMissingGeneratorSpecAndWrongFormat() {
        expect(.badMetadata, key: "generator") { _, metadata in metadata["generator"] = nil }
        expect(.badMetadata, key: "format") { _, metadata in metadata["format"] = "something/2" }
    }

    func testLayerChainThatDoesNotFit() {
        expect(.badSpec, key: "layers[1]") { _, metadata in
            metadata["generator"] = metadata["generator"]!.replacingOccurrences(of: "[32,4,4]", with: "[16,4,4]")
                .replacingOccurrences(of: "[32, 4, 4]", with: "[16, 4, 4]")
        }
    }
}
