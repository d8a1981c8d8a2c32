// libFuzzer entry point for the file-format parsers (safetensors header and
// validation, the strict JSON parser, .npy). Built by fuzz/run.sh together with
// Sources/NN/{Safetensors,NPY,AtomicFile}.swift in one module, so internal
// parsers are reachable. A crash, an ASan report or a failed round trip below
// is a bug in the parser.
import Tensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes: [UInt8] = if let data, size > 0 { Array(UnsafeBufferPointer(start: data, count: size)) } else { [] }

    checkSafetensors(bytes)
    // Inputs starting with '{' are also tried as "header JSON + data" with a
    // correct length prefix, so mutations reach the validation behind the prefix.
    if bytes.first == UInt8(ascii: "{") {
        let headerEnd = endOfFirstObject(bytes)
        let n = UInt64(headerEnd)
        checkSafetensors((0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + bytes)
    }
    if let t = try? NPY.parse(bytes: bytes, name: "fuzz") {
        // Whatever parsed must survive our own writer and reader unchanged.
        guard let back = try? NPY.parse(bytes: NPY.serialize(t), name: "fuzz"),
              back.shape == t.shape, back.storage.map(\.bitPattern) == t.storage.map(\.bitPattern) else {
            fatalError("npy round trip failed for shape \(t.shape)")
        }
    }
    if let t = try? NPY.parseArray(bytes: bytes, name: "fuzz") {
        guard let back = try? NPY.parseArray(bytes: NPY.serialize(t), name: "fuzz"),
              back.shape == t.shape, back.storage.map(\.bitPattern) == t.storage.map(\.bitPattern) else {
            fatalError("npy array round trip failed for shape \(t.shape)")
        }
    }
    _ = try? StrictJSONParser.parse(bytes)
    return 0
}

/// Parses, decodes every tensor, and checks that F32-decodable files round-trip
/// through the writer (names, metadata, values).
private func checkSafetensors(_ bytes: [UInt8]) {
    guard let file = try? SafetensorsFile(bytes: bytes, name: "fuzz") else { return }
    var tensors: [(String, Tensor)] = []
    for name in file.names {
        guard let info = file.info(name) else { fatalError("names and info disagree on \(name)") }
        if let t = try? file.tensor(name) {
            guard t.shape == info.shape else { fatalError("decoded shape differs for \(name)") }
            tensors.append((name, t))
        }
    }
    guard let out = try? SafetensorsFile.serialize(tensors: tensors, metadata: file.metadata) else {
        fatalError("writer refused tensors the reader accepted")
    }
    guard let again = try? SafetensorsFile(bytes: out, name: "fuzz") else {
        fatalError("reader refused the writer's output")
    }
    guard again.metadata == file.metadata, again.names == tensors.map(\.0).sorted() else {
        fatalError("round trip changed names or metadata")
    }
    for (name, t) in tensors {
        guard let u = try? again.tensor(name), u.shape == t.shape,
              u.storage.map(\.bitPattern) == t.storage.map(\.bitPattern) else {
            fatalError("round trip changed tensor \(name)")
        }
    }
}

/// Index just past the '}' closing the first JSON object (strings skipped),
/// plus trailing spaces; the whole input when it never closes.
private func endOfFirstObject(_ bytes: [UInt8]) -> Int {
    var depth = 0, inString = false, escaped = false
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        i += 1
        if inString {
            if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            continue
        }
        switch b {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth == 0 {
                while i < bytes.count, bytes[i] == 0x20 { i += 1 }
                return i
            }
        default: break
        }
    }
    return bytes.count
}
