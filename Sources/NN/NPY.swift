import Tensors

/// NumPy `.npy` files for latent vectors (DESIGN.md): written as little-endian
/// float32; read as float32 or float64, C order, [n, d] or [d] (returned as
/// [1, d]). Anything else is a one-line `.badNPY` error, so a user handing in
/// the wrong array learns what we expected instead of getting garbage z.
public enum NPY {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads a `.npy` file of latent vectors.
    public static func read(path: String) throws -> Tensor {
        try parse(bytes: readWholeFile(path), name: path)
    }

    /// Parses `.npy` bytes of latent vectors; `name` is used in errors. Values
    /// must be finite (a NaN in z would silently blank every image made from it).
    public static func parse(bytes: [UInt8], name: String) throws -> Tensor {
        try decode(bytes, name: name, latent: true)
    }

    /// Reads a float32/float64 C-order array of any rank in its own shape, for
    /// data that is not latent vectors (reference outputs, feature dumps).
    /// Non-finite values are kept: they are data here, not a broken input.
    public static func readArray(path: String) throws -> Tensor {
        try parseArray(bytes: readWholeFile(path), name: path)
    }

    public static func parseArray(bytes: [UInt8], name: String) throws -> Tensor {
        try decode(bytes, name: name, latent: false)
    }

    private static func decode(_ bytes: [UInt8], name: String, latent: Bool) throws -> Tensor {
        func fail(_ key: String?, _ message: String) -> InputError {
            InputError(.badNPY, file: name, key: key, message)
        }
        guard bytes.count >= 10 else {
            throw fail(nil, bytes.count >= 6 && Array(bytes[0..<6]) == magic
                       ? "truncated: the file ends inside the .npy preamble" : "not a .npy file (bad magic)")
        }
        guard Array(bytes[0..<6]) == magic else { throw fail(nil, "not a .npy file (bad magic)") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail(nil, "truncated: the file ends inside the .npy preamble") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail(nil, "unsupported .npy format version \(major).\(bytes[7])")
        }
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else {
            throw fail(nil, "truncated: header length \(headerLength) goes past the end of the file (\(bytes.count) bytes)")
        }

        let header: Header
        do throws(HeaderParser.Failure) {
            header = try HeaderParser.parse(bytes, headerStart..<dataStart)
        } catch {
            throw fail(error.key, error.message)
        }

        let itemSize: Int
        switch header.descr {
        case "<f4": itemSize = 4
        case "<f8": itemSize = 8
        case ">f4", ">f8":
            throw fail("descr", "big-endian floats ('\(header.descr)') are not read; save little-endian float32 or float64")
        default:
            throw fail("descr", "dtype '\(header.descr.prefix(40))' is not read; expected float32 ('<f4') or float64 ('<f8')")
        }
        if header.fortranOrder {
            throw fail("fortran_order", "Fortran-ordered arrays are not read; save a C-ordered array (np.ascontiguousarray)")
        }
        var shape = header.shape
        if latent {
            switch shape.count {
            case 1: shape = [1, shape[0]]
            case 2: break
            default:
                throw fail("shape", "array of shape \(header.shape) has rank \(header.shape.count); expected latent vectors [n, d] or [d]")
            }
        }
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw fail("shape", "shape \(header.shape) is too large") }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow else { throw fail("shape", "shape \(header.shape) is too large") }
        let available = bytes.count - dataStart
        guard byteCount <= available else {
            throw fail(nil, "truncated: shape \(header.shape) needs \(byteCount) data bytes but the file has \(available)")
        }

        let values = bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                if itemSize == 4 {
                    #if _endian(little)
                    if count > 0 {
                        UnsafeMutableRawBufferPointer(out).copyMemory(
                            from: UnsafeRawBufferPointer(rebasing: raw[dataStart..<(dataStart + byteCount)]))
                    }
                    #else
                    for i in 0..<count {
                        out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + 4 * i, as: UInt32.self)))
                    }
                    #endif
                } else {
                    for i in 0..<count {
                        let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + 8 * i, as: UInt64.self))
                        out[i] = Float(Double(bitPattern: bits))
                    }
                }
                initialized = count
            }
        }
        if latent, let bad = values.firstIndex(where: { !$0.isFinite }) {
            let row = shape[1] == 0 ? 0 : bad / shape[1]
            throw InputError(.nonFinite, file: name, key: nil,
                             "row \(row) holds \(values[bad].isNaN ? "NaN" : "a value outside the float32 range or infinite"); latent vectors must be finite")
        }
        return Tensor(shape: shape, storage: values)
    }

    /// The bytes of a version 1.0 `.npy` file holding `t` as little-endian
    /// float32 in its own shape (latent vectors are [n, d]), data 64-byte aligned
    /// as NumPy writes it.
    public static func serialize(_ t: Tensor) -> [UInt8] {
        let dims = t.shape.map(String.init)
        let shapeText = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        // Version 2.0 only when the header outgrows a 16-bit length (very high rank).
        let preamble = header.count + 11 > 0xFFFF ? 12 : 10
        let total = (preamble + header.count + 1 + 63) / 64 * 64
        header.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: total - preamble - header.count - 1))
        header.append(UInt8(ascii: "\n"))

        var out = magic
        out.reserveCapacity(total + t.count * 4)
        out.append(contentsOf: [preamble == 10 ? 1 : 2, 0])
        let length = header.count
        for i in 0..<(preamble - 8) { out.append(UInt8(truncatingIfNeeded: length >> (8 * i))) }
        out.append(contentsOf: header)
        t.appendLittleEndianBytes(to: &out)
        return out
    }

    /// Writes `t` as a float32 `.npy` file, atomically (temp file + rename).
    public static func write(_ t: Tensor, to path: String) throws {
        try writeAtomically(serialize(t), to: path)
    }

    // MARK: header

    struct Header {
        var descr: String
        var fortranOrder: Bool
        var shape: [Int]
    }

    /// Parses the header, a Python dict literal such as
    /// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`, with a
    /// tiny literal grammar (strings, True/False, ints, tuples/lists) rather
    /// than trusting its layout.
    struct HeaderParser {
        struct Failure: Error {
            let key: String?
            let message: String
        }

        indirect enum Literal {
            case string(String)
            case bool(Bool)
            case int(Int)
            case sequence([Literal])
            case none
        }

        private let bytes: [UInt8]
        private var pos: Int
        private let end: Int
        private var depth = 0

        static func parse(_ bytes: [UInt8], _ range: Range<Int>) throws(Failure) -> Header {
            var parser = HeaderParser(bytes: bytes, pos: range.lowerBound, end: range.upperBound)
            parser.skipSpace()
            let dict = try parser.parseDict()
            parser.skipSpace()
            guard parser.pos == parser.end else { throw parser.garbage("after the header dict") }

            var descr: String?, fortran: Bool?, shape: [Int]?
            for (key, value) in dict {
                switch key {
                case "descr":
                    guard case .string(let text) = value else {
                        throw Failure(key: key, message: "dtype is not a plain float32 or float64 ('<f4' or '<f8')")
                    }
                    descr = text
                case "fortran_order":
                    guard case .bool(let flag) = value else { throw Failure(key: key, message: "must be True or False") }
                    fortran = flag
                case "shape":
                    guard case .sequence(let items) = value else {
                        throw Failure(key: key, message: "must be a tuple of non-negative integers")
                    }
                    var dims: [Int] = []
                    for item in items {
                        guard case .int(let n) = item, n >= 0 else {
                            throw Failure(key: key, message: "must be a tuple of non-negative integers")
                        }
                        dims.append(n)
                    }
                    shape = dims
                default:
                    throw Failure(key: String(key.prefix(40)), message: "unexpected key in the .npy header")
                }
            }
            guard let descr else { throw Failure(key: "descr", message: "the .npy header has no 'descr'") }
            guard let fortran else { throw Failure(key: "fortran_order", message: "the .npy header has no 'fortran_order'") }
            guard let shape else { throw Failure(key: "shape", message: "the .npy header has no 'shape'") }
            return Header(descr: descr, fortranOrder: fortran, shape: shape)
        }

        private func garbage(_ context: String) -> Failure {
            let found: String
            if pos >= end {
                found = "end of header"
            } else {
                let b = bytes[pos]
                found = b >= 0x20 && b < 0x7f ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
            }
            return Failure(key: nil, message: "header is not a valid dict literal: unexpected \(found) \(context)")
        }

        private mutating func skipSpace() {
            while pos < end {
                switch bytes[pos] {
                case 0x20, 0x09, 0x0a, 0x0d, 0x00: pos += 1
                default: return
                }
            }
        }

        private mutating func consume(_ byte: UInt8) -> Bool {
            skipSpace()
            if pos < end, bytes[pos] == byte { pos += 1; return true }
            return false
        }

        private mutating func parseDict() throws(Failure) -> [(String, Literal)] {
            guard consume(UInt8(ascii: "{")) else { throw garbage("at the start of the header") }
            var items: [(String, Literal)] = []
            var keys = Set<String>()
            while !consume(UInt8(ascii: "}")) {
                skipSpace()
                guard case .string(let key) = try parseLiteral() else { throw garbage("where a key was expected") }
                guard keys.insert(key).inserted else {
                    throw Failure(key: String(key.prefix(40)), message: "duplicate key in the .npy header")
                }
                guard consume(UInt8(ascii: ":")) else { throw garbage("after a key") }
                items.append((key, try parseLiteral()))
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "}")) else { throw garbage("in the header dict") }
                break
            }
            return items
        }

        private mutating func parseLiteral() throws(Failure) -> Literal {
            skipSpace()
            guard pos < end else { throw garbage("where a value was expected") }
            let b = bytes[pos]
            switch b {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                pos += 1
                let start = pos
                while pos < end, bytes[pos] != b {
                    // Escapes never occur in a valid header; refuse rather than misread.
                    if bytes[pos] == UInt8(ascii: "\\") || bytes[pos] == 0x0a { throw garbage("inside a string") }
                    pos += 1
                }
                guard pos < end else { throw garbage("inside a string") }
                let text = String(decoding: bytes[start..<pos], as: UTF8.self)
                pos += 1
                return .string(text)
            case UInt8(ascii: "("), UInt8(ascii: "["):
                let close = b == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]")
                depth += 1
                guard depth <= 16 else { throw garbage("(nesting too deep)") }
                pos += 1
                var items: [Literal] = []
                while !consume(close) {
                    items.append(try parseLiteral())
                    if consume(UInt8(ascii: ",")) { continue }
                    guard consume(close) else { throw garbage("in a tuple") }
                    break
                }
                depth -= 1
                return .sequence(items)
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                var negative = false
                if b == UInt8(ascii: "-") { negative = true; pos += 1 }
                var value = 0
                var digits = 0
                while pos < end, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "9") {
                    let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                    let (next, o2) = times10.addingReportingOverflow(Int(bytes[pos] - UInt8(ascii: "0")))
                    guard !o1, !o2 else { throw Failure(key: nil, message: "integer too large in the .npy header") }
                    value = next
                    digits += 1
                    pos += 1
                }
                // Python 2 era files may write long integers as 3L.
                if pos < end, bytes[pos] == UInt8(ascii: "L") { pos += 1 }
                guard digits > 0 else { throw garbage("in a number") }
                return .int(negative ? -value : value)
            default:
                for (word, literal) in [("True", Literal.bool(true)), ("False", .bool(false)), ("None", .none)] {
                    let utf8 = Array(word.utf8)
                    if end - pos >= utf8.count, Array(bytes[pos..<(pos + utf8.count)]) == utf8 {
                        pos += utf8.count
                        return literal
                    }
                }
                throw garbage("where a value was expected")
            }
        }
    }
}
