import Foundation
@testable import Imaging
import Tensors
import XCTest

/// A fresh temporary folder per test, removed afterwards.
final class TempFolder {
    let path: String
    init() {
        var template = Array((NSTemporaryDirectory() + "/imaging-tests-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        guard let made else { fatalError("mkdtemp failed: \(errno)") }
        path = made
    }
    func file(_ name: String) -> String { path + "/" + name }
    var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Builds PNG files byte by byte (stored deflate blocks, no gamma chunks), so
/// tests can produce every colour type and bit depth, and damage them at will.
enum PNGBuilder {
    /// Colour types: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA.
    /// `samples` are the channel values row by row (palette: indices).
    static func make(width: Int, height: Int, colorType: UInt8, bitDepth: UInt8, samples: [Int],
                     palette: [(UInt8, UInt8, UInt8)] = [], transparency: [UInt8] = [],
                     extra: [(String, [UInt8])] = []) -> [UInt8] {
        let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(colorType)]!
        precondition(samples.count == width * height * channels)
        var raw: [UInt8] = []
        let perRow = width * channels
        for y in 0..<height {
            raw.append(0) // filter: none
            let row = samples[(y * perRow)..<((y + 1) * perRow)]
            switch bitDepth {
            case 16: for v in row { raw += [UInt8(v >> 8), UInt8(v & 0xFF)] }
            case 8: for v in row { raw.append(UInt8(v)) }
            default:
                let bits = Int(bitDepth)
                var byte = 0, used = 0
                for v in row {
                    byte = byte << bits | v
                    used += bits
                    if used == 8 { raw.append(UInt8(byte)); byte = 0; used = 0 }
                }
                if used > 0 { raw.append(UInt8(byte << (8 - used))) }
            }
        }
        var ihdr = PNG.bigEndian(UInt32(width)) + PNG.bigEndian(UInt32(height))
        ihdr += [bitDepth, colorType, 0, 0, 0]
        var out = PNG.signature + PNG.chunk("IHDR", ihdr)
        for (type, data) in extra { out += PNG.chunk(type, data) }
        if !palette.isEmpty { out += PNG.chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }) }
        if !transparency.isEmpty { out += PNG.chunk("tRNS", transparency) }
        out += PNG.chunk("IDAT", zlibStored(raw))
        out += PNG.chunk("IEND", [])
        return out
    }

    /// A zlib stream of stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return out + PNG.bigEndian(b << 16 | a)
    }
}

/// Asserts that `body` throws an InputError of `kind` naming `file`, with a one-line message.
func assertInputError<T>(_ kind: InputError.Kind, file: String, _ what: String = "", _ body: () throws -> T,
                         sourceFile: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected InputError.\(kind) \(what)", file: sourceFile, line: line)
    } catch let error as InputError {
        XCTAssertEqual(error.kind, kind, "\(error)", file: sourceFile, line: line)
        XCTAssertEqual(error.file, file, file: sourceFile, line: line)
        XCTAssertFalse(error.description.contains("\n"), "multi-line: \(error)", file: sourceFile, line: line)
        XCTAssertFalse(error.message.isEmpty, file: sourceFile, line: line)
    } catch {
        XCTFail("expected InputError, got \(type(of: error)): \(error)", file: sourceFile, line: line)
    }
}

/// A deterministic test pattern.
func pattern(width: Int, height: Int, seed: Int = 0) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 37 &+ seed &* 101 &+ (i / 3) &* 11) }
    return RGBImage(width: width, height: height, pixels: pixels)
}
