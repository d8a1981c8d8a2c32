import Tensors

// The checkpoint container (DESIGN.md, "Checkpoint format"): an 8-byte
// little-endian header length N, N bytes of UTF-8 JSON, then raw little-endian
// tensor bytes. Validation follows the reference implementation (PLATFORM.md)
// and goes further in one place: duplicate keys are rejected at every level,
// because a JSON decoder that keeps one of them would load weights the writer
// may not have meant.

/// A safetensors file held in memory: validated header, lazily decoded tensors.
public struct SafetensorsFile: Sendable {
    /// One tensor as the header describes it; bytes are decoded only on request.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Where the tensor's bytes are in the whole file (header included).
        public let byteRange: Range<Int>
    }

    /// Largest header the reference implementation accepts.
    public static let maxHeaderLength = 100_000_000

    /// The file as the user named it, for error messages.
    public let file: String
    /// `__metadata__` (string → string); empty when the file has none.
    public var metadata: [String: String]
    /// Tensors in the order of their bytes.
    public let entries: [Entry]
    private let index: [String: Int]
    private let bytes: [UInt8]

    /// Reads and validates the whole file at once.
    public static func read(path: String) throws -> SafetensorsFile {
        try SafetensorsFile(bytes: readWholeFile(path), name: path)
    }

    /// Validates `bytes` as a safetensors file; `name` is used in errors.
    public init(bytes: [UInt8], name: String) throws {
        let file = name
        func fail(_ kind: InputError.Kind, _ key: String?, _ message: String) -> InputError {
            InputError(kind, file: file, key: key, message)
        }
        guard bytes.count >= 8 else {
            throw fail(.truncated, nil, "file has \(bytes.count) bytes, fewer than the 8-byte header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(Self.maxHeaderLength) else {
            // What a PNG, a text file or a pickle fed in by mistake looks like.
            throw fail(.badHeader, nil, "not a safetensors file: its first 8 bytes give a header length of \(length), over the \(Self.maxHeaderLength)-byte limit; pass a checkpoint written by `latent-tui train` or safetensors' save_file")
        }
        let headerEnd = 8 + Int(length)
        guard headerEnd <= bytes.count else {
            throw fail(.truncated, nil,
                       "header length \(length) goes past the end of the file (\(bytes.count) bytes)")
        }

        let root: [StrictJSONMember]
        do throws(StrictJSONParser.Failure) {
            root = try StrictJSONParser.parseHeader(bytes, 8..<headerEnd)
        } catch {
            throw fail(.badHeader, error.key, error.message)
        }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        entries.reserveCapacity(root.count)
        for member in root {
            if member.key == "__metadata__" {
                metadata = try Self.parseMetadata(member.value, fail: fail)
                continue
            }
            entries.append(try Self.parseEntry(member, dataStart: headerEnd, fail: fail))
        }

        // Data order: sorted by offsets, then contiguous from 0 to the end of the file.
        entries.sort {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name)
                < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        var expected = headerEnd
        for (i, entry) in entries.enumerated() {
            let begin = entry.byteRange.lowerBound - headerEnd
            if i == 0, begin != 0 {
                throw fail(.badOffsets, entry.name, "data_offsets begin at \(begin), but the first tensor must begin at 0")
            }
            if entry.byteRange.lowerBound > expected {
                throw fail(.badOffsets, entry.name,
                           "data_offsets begin at \(begin), leaving a hole after byte \(expected - headerEnd)")
            }
            if entry.byteRange.lowerBound < expected {
                throw fail(.badOffsets, entry.name,
                           "data_offsets begin at \(begin), overlapping the tensor that ends at \(expected - headerEnd)")
            }
            expected = entry.byteRange.upperBound
        }
        let dataSize = bytes.count - headerEnd
        if expected > bytes.count, let last = entries.last {
            throw fail(.badOffsets, last.name,
                       "data_offsets end at \(expected - headerEnd) but only \(dataSize) data bytes follow the header (offsets out of bounds, or the file is truncated)")
        }
        if expected < bytes.count {
            throw fail(.badOffsets, entries.last?.name,
                       "tensors cover \(expected - headerEnd) of the \(dataSize) data bytes; the rest is not part of any tensor")
        }

        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() { index[entry.name] = i }
        self.file = file
        self.metadata = metadata
        self.entries = entries
        self.index = index
        self.bytes = bytes
    }

    private static func parseMetadata(_ value: StrictJSON,
                                      fail: (InputError.Kind, String?, String) -> InputError) throws -> [String: String] {
        var metadata: [String: String] = [:]
        switch value {
        case .null:
            break  // the reference implementation accepts an explicit null
        case .object(let members):
            for member in members {
                guard case .string(let text) = member.value else {
                    throw fail(.badMetadata, member.key,
                               "__metadata__ values must be strings, not \(member.value.kindName)")
                }
                metadata[member.key] = text
            }
        default:
            throw fail(.badMetadata, "__metadata__", "must be an object of strings, not \(value.kindName)")
        }
        return metadata
    }

    private static func parseEntry(_ member: StrictJSONMember, dataStart: Int,
                                   fail: (InputError.Kind, String?, String) -> InputError) throws -> Entry {
        let key = member.key
        guard case .object(let fields) = member.value else {
            throw fail(.badHeader, key, "tensor entry must be an object with dtype, shape and data_offsets, not \(member.value.kindName)")
        }
        var dtypeValue: StrictJSON?, shapeValue: StrictJSON?, offsetsValue: StrictJSON?
        for field in fields {
            switch field.key {
            case "dtype": dtypeValue = field.value
            case "shape": shapeValue = field.value
            case "data_offsets": offsetsValue = field.value
            default: break  // unknown fields are ignored, as in the reference implementation
            }
        }
        guard let dtypeValue else { throw fail(.badHeader, key, "tensor entry has no dtype") }
        guard case .string(let dtype) = dtypeValue else {
            throw fail(.badHeader, key, "dtype must be a string, not \(dtypeValue.kindName)")
        }
        guard let bits = DType.bits[dtype] else {
            throw fail(.unknownDType, key, "unknown dtype \"\(dtype.prefix(40))\"")
        }
        guard let shapeValue else { throw fail(.badHeader, key, "tensor entry has no shape") }
        guard case .array(let dims) = shapeValue else {
            throw fail(.badHeader, key, "shape must be an array of non-negative integers, not \(shapeValue.kindName)")
        }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for dim in dims {
            guard let n = dim.nonNegativeInt else {
                throw fail(.badHeader, key, "shape must be an array of non-negative integers")
            }
            shape.append(n)
        }
        guard let offsetsValue else { throw fail(.badOffsets, key, "tensor entry has no data_offsets") }
        guard case .array(let pair) = offsetsValue, pair.count == 2,
              let begin = pair[0].nonNegativeInt, let end = pair[1].nonNegativeInt else {
            throw fail(.badOffsets, key, "data_offsets must be [begin, end], two non-negative integers")
        }
        guard end >= begin else {
            throw fail(.badOffsets, key, "data_offsets end \(end) is before begin \(begin)")
        }
        var totalBits = bits
        for dim in shape {
            let (product, overflow) = totalBits.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw fail(.shapeMismatch, key, "shape \(shape) of \(dtype) is too large") }
            totalBits = product
        }
        guard totalBits % 8 == 0 else {
            throw fail(.shapeMismatch, key, "shape \(shape) of \(dtype) does not end on a byte boundary")
        }
        guard totalBits / 8 == end - begin else {
            throw fail(.shapeMismatch, key,
                       "shape \(shape) of \(dtype) needs \(totalBits / 8) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        let (lower, o1) = dataStart.addingReportingOverflow(begin)
        let (upper, o2) = dataStart.addingReportingOverflow(end)
        guard !o1, !o2 else { throw fail(.badOffsets, key, "data_offsets [\(begin), \(end)] are out of range") }
        return Entry(name: key, dtype: dtype, shape: shape, byteRange: lower..<upper)
    }

    // MARK: access

    /// Tensor names, sorted.
    public var names: [String] { entries.map(\.name).sorted() }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    public func info(_ name: String) -> (dtype: String, shape: [Int])? {
        entry(name).map { ($0.dtype, $0.shape) }
    }

    /// Decodes one tensor to float32. F32, F16, BF16 and F64 are read; any other
    /// dtype (e.g. BatchNorm's I64 counter) is an error only when asked for.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entry(name) else {
            throw InputError(.missingTensor, file: file, key: name, "no tensor of this name in the file")
        }
        let count = entry.shape.product
        let range = entry.byteRange
        let values: [Float]
        switch entry.dtype {
        case "F32": values = Self.decode(bytes, range, count, as: UInt32.self) { Float(bitPattern: $0) }
        case "F16": values = Self.decode(bytes, range, count, as: UInt16.self, halfToFloat)
        case "BF16": values = Self.decode(bytes, range, count, as: UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        case "F64": values = Self.decode(bytes, range, count, as: UInt64.self) { Float(Double(bitPattern: $0)) }
        default:
            throw InputError(.unknownDType, file: file, key: name,
                             "dtype \(entry.dtype) is not read; tensors the model uses must be F32, F16, BF16 or F64")
        }
        return Tensor(shape: entry.shape, storage: values)
    }

    /// Bulk conversion of little-endian words in `range` (unaligned: other
    /// writers do not promise alignment). F32 on a little-endian host is one memcpy.
    private static func decode<W: FixedWidthInteger>(_ bytes: [UInt8], _ range: Range<Int>, _ count: Int,
                                                     as word: W.Type, _ convert: (W) -> Float) -> [Float] {
        bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                #if _endian(little)
                if W.self == UInt32.self, count > 0 {
                    UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[range]))
                    initialized = count
                    return
                }
                #endif
                let base = range.lowerBound
                let size = MemoryLayout<W>.size
                for i in 0..<count {
                    out[i] = convert(W(littleEndian: raw.loadUnaligned(fromByteOffset: base + i * size, as: W.self)))
                }
                initialized = count
            }
        }
    }

    // MARK: writing

    /// The bytes of a safetensors file holding `tensors` as F32, sorted by name
    /// (all F32, so one alignment class), header keys sorted, header padded with
    /// spaces to a multiple of 8 so the data starts 8-byte aligned.
    public static func serialize(tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> [UInt8] {
        let sorted = tensors.sorted { $0.0 < $1.0 }
        for (i, (name, _)) in sorted.enumerated() {
            if name == "__metadata__" {
                throw InputError(.badArgument, key: name, "a tensor cannot be called __metadata__")
            }
            if i > 0, sorted[i - 1].0 == name {
                throw InputError(.badArgument, key: name, "two tensors have this name")
            }
        }

        var header: [UInt8] = []
        header.append(UInt8(ascii: "{"))
        var first = true
        func separator() {
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separator()
            appendJSONString("__metadata__", to: &header)
            header.append(contentsOf: Array(":{".utf8))
            for (i, (key, value)) in metadata.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { header.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &header)
                header.append(UInt8(ascii: ":"))
                appendJSONString(value, to: &header)
            }
            header.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for (name, tensor) in sorted {
            separator()
            let size = tensor.count * MemoryLayout<Float>.size
            appendJSONString(name, to: &header)
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            header.append(contentsOf: Array(":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}".utf8))
            offset += size
        }
        header.append(UInt8(ascii: "}"))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        let length = UInt64(header.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        out.append(contentsOf: header)
        for (_, tensor) in sorted { tensor.appendLittleEndianBytes(to: &out) }
        return out
    }

    public static func serialize(tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        try serialize(tensors: tensors.map { ($0.key, $0.value) }, metadata: metadata)
    }

    /// Writes a checkpoint atomically (temp file + rename): a crash never leaves half a file.
    public static func write(tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws {
        try writeAtomically(serialize(tensors: tensors, metadata: metadata), to: path)
    }

    public static func write(tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        try writeAtomically(serialize(tensors: tensors, metadata: metadata), to: path)
    }
}

/// Throws `.nonFinite` when `t` holds a NaN or an infinity: one diverged weight
/// would otherwise turn every generated image into NaN without a word.
public func checkFinite(_ t: Tensor, file: String?, key: String?) throws {
    let bad = t.withValues { values in values.firstIndex { !$0.isFinite } }
    if let bad {
        let value = t.storage[bad]
        throw InputError(.nonFinite, file: file, key: key,
                         "contains \(value.isNaN ? "NaN" : "an infinity") at flat index \(bad) of shape \(t.shape)")
    }
}

/// Bits per element of every dtype the reference implementation knows.
enum DType {
    static let bits: [String: Int] = [
        "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8,
        "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8,
        "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
        "C64": 64, "F64": 64, "I64": 64, "U64": 64,
    ]
}

/// IEEE half to float by bit manipulation (portable: Float16 is missing on
/// Intel macOS). Subnormal halves become normal floats; NaN payloads are kept.
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1f
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
    if exponent != 0 { return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13)) }
    // Zero or subnormal: mantissa · 2^-24, exact in float32.
    let magnitude = Float(mantissa) * Float(bitPattern: 0x3380_0000)
    return sign != 0 ? -magnitude : magnitude
}

// MARK: - JSON

/// A JSON value from a header. Objects keep members in order (duplicates are
/// rejected while parsing); numbers keep their text so integers stay exact.
indirect enum StrictJSON: Sendable {
    case object([StrictJSONMember])
    case array([StrictJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// The value as an `Int` when it is written as plain digits (no sign,
    /// fraction or exponent, as the reference's usize) and fits.
    var nonNegativeInt: Int? {
        guard case .number(let text) = self else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = next
        }
        return text.isEmpty ? nil : value
    }
}

struct StrictJSONMember: Sendable {
    let key: String
    let value: StrictJSON
}

/// A strict RFC 8259 parser over raw bytes (Foundation's parsers merge
/// duplicate keys, which the format forbids). Nesting is limited like
/// serde_json's, so hostile input cannot exhaust the stack.
struct StrictJSONParser {
    struct Failure: Error {
        /// The top-level key being parsed when it failed, if any.
        let key: String?
        let message: String
    }

    static let maxDepth = 128

    private let bytes: [UInt8]
    private var pos: Int
    private let end: Int
    private let start: Int
    private var depth = 0
    private var topKey: String?

    private init(_ bytes: [UInt8], _ range: Range<Int>) {
        self.bytes = bytes
        self.pos = range.lowerBound
        self.start = range.lowerBound
        self.end = range.upperBound
    }

    /// Parses a safetensors header: UTF-8, a JSON object starting at the first
    /// byte, optionally followed by whitespace (writers pad with spaces).
    static func parseHeader(_ bytes: [UInt8], _ range: Range<Int>) throws(Failure) -> [StrictJSONMember] {
        if let bad = firstInvalidUTF8(bytes, range) {
            throw Failure(key: nil, message: "header is not valid UTF-8 (byte \(bad - range.lowerBound))")
        }
        guard !range.isEmpty, bytes[range.lowerBound] == UInt8(ascii: "{") else {
            throw Failure(key: nil, message: range.isEmpty ? "header is empty" : "header is not a JSON object (it must start with '{')")
        }
        var parser = StrictJSONParser(bytes, range)
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.pos == parser.end else {
            throw parser.failure("unexpected \(parser.describeByte()) after the header object")
        }
        guard case .object(let members) = value else {
            throw Failure(key: nil, message: "header is not a JSON object")
        }
        return members
    }

    /// Parses any JSON text (whitespace allowed around the value).
    static func parse(_ bytes: [UInt8]) throws(Failure) -> StrictJSON {
        if let bad = firstInvalidUTF8(bytes, 0..<bytes.count) {
            throw Failure(key: nil, message: "not valid UTF-8 (byte \(bad))")
        }
        var parser = StrictJSONParser(bytes, 0..<bytes.count)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.pos == parser.end else {
            throw parser.failure("unexpected \(parser.describeByte()) after the JSON value")
        }
        return value
    }

    /// A syntax error, naming the top-level key whose value contains it.
    private func failure(_ message: String) -> Failure {
        Failure(key: topKey, message: "header is not valid JSON: \(message) at byte \(pos - start)")
    }

    private func describeByte() -> String {
        guard pos < end else { return "end of header" }
        let b = bytes[pos]
        return b >= 0x20 && b < 0x7f ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while pos < end {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0a, 0x0d: pos += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(Failure) -> StrictJSON {
        skipWhitespace()
        guard pos < end else { throw failure("unexpected end of header") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("unexpected \(describeByte())")
        }
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        if depth > Self.maxDepth { throw failure("nesting deeper than \(Self.maxDepth) levels") }
    }

    private mutating func parseObject() throws(Failure) -> StrictJSON {
        try enter()
        pos += 1  // '{'
        var members: [StrictJSONMember] = []
        var seen = Set<String>()
        skipWhitespace()
        if pos < end, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard pos < end, bytes[pos] == UInt8(ascii: "\"") else {
                throw failure("expected a string key, found \(describeByte())")
            }
            let key = try parseString()
            // Swift compares strings by canonical equivalence, so two spellings
            // of the same name also count as duplicates: they could not both
            // be looked up.
            guard seen.insert(key).inserted else {
                throw Failure(key: depth == 1 ? key : topKey,
                              message: depth == 1 ? "duplicate key in the header" : "duplicate key \"\(key.prefix(80))\"")
            }
            if depth == 1 { topKey = key }
            skipWhitespace()
            guard pos < end, bytes[pos] == UInt8(ascii: ":") else {
                throw failure("expected ':' after a key, found \(describeByte())")
            }
            pos += 1
            let value = try parseValue()
            if depth == 1 { topKey = nil }  // errors between members belong to no key
            members.append(StrictJSONMember(key: key, value: value))
            skipWhitespace()
            guard pos < end else { throw failure("unterminated object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; break }
            throw failure("expected ',' or '}' in an object, found \(describeByte())")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func parseArray() throws(Failure) -> StrictJSON {
        try enter()
        pos += 1  // '['
        var items: [StrictJSON] = []
        skipWhitespace()
        if pos < end, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(items)
        }
        while true {
            items.append(try parseValue())
            skipWhitespace()
            guard pos < end else { throw failure("unterminated array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw failure("expected ',' or ']' in an array, found \(describeByte())")
        }
        depth -= 1
        return .array(items)
    }

    private mutating func expectLiteral(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard end - pos >= count else { throw failure("unexpected \(describeByte())") }
        for i in 0..<count where bytes[pos + i] != word.utf8Start[i] {
            throw failure("unexpected \(describeByte())")
        }
        pos += count
    }

    private mutating func parseNumber() throws(Failure) -> String {
        let first = pos
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < end, bytes[p] >= UInt8(ascii: "0"), bytes[p] <= UInt8(ascii: "9") { p += 1 }
            return p - s
        }
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < end, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "9") else {
            throw failure("malformed number")
        }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            _ = digits(&pos)
        }
        if pos < end, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard digits(&pos) > 0 else { throw failure("malformed number") }
        }
        if pos < end, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < end, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard digits(&pos) > 0 else { throw failure("malformed number") }
        }
        return String(decoding: bytes[first..<pos], as: UTF8.self)
    }

    /// A string starting at the opening quote. The header was checked to be
    /// UTF-8 already, and quotes and backslashes are ASCII, so raw runs can be
    /// decoded without repair.
    private mutating func parseString() throws(Failure) -> String {
        pos += 1  // opening quote
        var runStart = pos
        var decoded: [UInt8]? = nil  // only allocated when an escape occurs
        while true {
            guard pos < end else { throw failure("unterminated string") }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                let result: String
                if var buffer = decoded {
                    buffer.append(contentsOf: bytes[runStart..<pos])
                    result = String(decoding: buffer, as: UTF8.self)
                } else {
                    result = String(decoding: bytes[runStart..<pos], as: UTF8.self)
                }
                pos += 1
                return result
            }
            if b < 0x20 { throw failure("control character in a string") }
            if b != UInt8(ascii: "\\") { pos += 1; continue }

            var buffer = decoded ?? []
            buffer.append(contentsOf: bytes[runStart..<pos])
            pos += 1
            guard pos < end else { throw failure("unterminated string") }
            let escape = bytes[pos]
            pos += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5c)
            case UInt8(ascii: "/"): buffer.append(0x2f)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0c)
            case UInt8(ascii: "n"): buffer.append(0x0a)
            case UInt8(ascii: "r"): buffer.append(0x0d)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(try parseHex4())
                if (0xD800...0xDBFF).contains(scalar) {
                    guard end - pos >= 2, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw failure("unpaired surrogate in a \\u escape")
                    }
                    pos += 2
                    let low = UInt32(try parseHex4())
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw failure("unpaired surrogate in a \\u escape")
                }
                guard let unicode = Unicode.Scalar(scalar), let encoded = UTF8.encode(unicode) else {
                    throw failure("invalid \\u escape")
                }
                buffer.append(contentsOf: encoded)
            default:
                pos -= 1
                throw failure("invalid escape \\\(describeByte())")
            }
            decoded = buffer
            runStart = pos
        }
    }

    private mutating func parseHex4() throws(Failure) -> UInt16 {
        guard end - pos >= 4 else { throw failure("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw failure("invalid hex digit in a \\u escape")
            }
            value = value << 4 | UInt16(digit)
            pos += 1
        }
        return value
    }
}

/// Index of the first byte that breaks UTF-8 (overlongs, surrogates and
/// code points above U+10FFFF included), or nil when `range` is valid.
func firstInvalidUTF8(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
    var i = range.lowerBound
    let end = range.upperBound
    while i < end {
        let b0 = bytes[i]
        if b0 < 0x80 { i += 1; continue }
        let length: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF  // allowed range of the second byte
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; hi = 0x9F
        case 0xF0: length = 4; lo = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; hi = 0x8F
        default: return i
        }
        guard end - i >= length else { return i }
        guard bytes[i + 1] >= lo, bytes[i + 1] <= hi else { return i }
        for k in 2..<length where bytes[i + k] & 0xC0 != 0x80 { return i }
        i += length
    }
    return nil
}

/// Appends `text` as a JSON string literal: quotes, backslashes and control
/// characters escaped, everything else as UTF-8.
func appendJSONString(_ text: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
        switch byte {
        case 0x22: out.append(contentsOf: [0x5c, 0x22])
        case 0x5c: out.append(contentsOf: [0x5c, 0x5c])
        case 0x0a: out.append(contentsOf: [0x5c, UInt8(ascii: "n")])
        case 0x0d: out.append(contentsOf: [0x5c, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5c, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [0x5c, UInt8(ascii: "b")])
        case 0x0c: out.append(contentsOf: [0x5c, UInt8(ascii: "f")])
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [0x5c, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                    hex[Int(byte >> 4)], hex[Int(byte & 0xf)]])
        default: out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
}
