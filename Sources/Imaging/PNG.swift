import CPNG
import Tensors

/// PNG files through libpng's simplified API.
///
/// The classic libpng API reports errors by `longjmp`, which Swift cannot
/// survive; the simplified API catches them inside libpng and leaves a message
/// in `png_image.message`, so every failure here becomes a thrown error.
public enum PNG {
    /// Encoding failed inside libpng (e.g. a zero-sized image).
    public struct EncodeError: Error, CustomStringConvertible, Equatable, Sendable {
        public let message: String
        public var description: String { "cannot encode PNG: \(message)" }
    }

    /// Largest image read or written: 2^28 pixels (768 MiB of RGB8). Far above
    /// anything a GAN needs, and it keeps a hostile header from asking for
    /// terabytes.
    public static let maxPixels = 1 << 28

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    // MARK: reading

    /// Reads any PNG (grey, grey+alpha, RGB, RGBA, palette; 1 to 16 bits;
    /// interlaced or not) as 8-bit sRGB.
    ///
    /// - Grey is replicated to R = G = B.
    /// - Alpha is composited over black (libpng does it in linear light), so a
    ///   fully transparent pixel reads as black. Training data with alpha is
    ///   rare; black matches what a model trained on RGB would see from most
    ///   loaders that drop alpha after premultiplying.
    /// - 16-bit files without gAMA/sRGB/iCCP information are taken as sRGB,
    ///   not linear (libpng's default), because that is what Python, GIMP and
    ///   ImageMagick write; files that declare a gamma are converted properly.
    ///
    /// Any failure (missing, empty, truncated, bad CRC, not a PNG) is an
    /// `InputError(.badImage, file: path, …)`. A file cut off after its last
    /// (CRC-checked) IDAT chunk, i.e. missing only IEND, is accepted, as
    /// libpng and browsers do.
    public static func read(_ path: String) throws(InputError) -> RGBImage {
        let bytes = try AtomicFile.read(path, kind: .badImage)
        return try decode(bytes, file: path)
    }

    /// Decodes PNG bytes; `file` names the source in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws(InputError) -> RGBImage {
        guard !bytes.isEmpty else { throw InputError(.badImage, file: file, "empty file, not a PNG") }
        guard bytes.count >= signature.count, bytes.starts(with: signature) else {
            throw InputError(.badImage, file: file, "not a PNG file (no PNG signature)")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) } // no-op once libpng has cleaned up itself

        let result: Result<RGBImage, InputError> = bytes.withUnsafeBytes { raw in
            guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
                return .failure(InputError(.badImage, file: file, "not a valid PNG: \(message(of: &image))"))
            }
            let width = Int(image.width), height = Int(image.height)
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            guard !overflow, pixels <= maxPixels else {
                return .failure(InputError(.badImage, file: file,
                                           "image of \(width)×\(height) pixels is larger than the limit of \(maxPixels) pixels"))
            }
            image.format = UInt32(PNG_FORMAT_RGB)
            image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
            var out = [UInt8](repeating: 0, count: pixels * 3)
            var black = png_color(red: 0, green: 0, blue: 0)
            let ok = out.withUnsafeMutableBytes { buffer in
                png_image_finish_read(&image, &black, buffer.baseAddress, Int32(width * 3), nil)
            }
            guard ok != 0 else {
                return .failure(InputError(.badImage, file: file, "corrupt PNG: \(message(of: &image))"))
            }
            return .success(RGBImage(width: width, height: height, pixels: out))
        }
        return try result.get()
    }

    /// The `tEXt` and uncompressed `iTXt` entries of a PNG, in file order.
    /// Chunks with a bad CRC or malformed contents are skipped (they are
    /// ancillary: libpng ignores them too).
    public static func textEntries(_ path: String) throws(InputError) -> [(key: String, value: String)] {
        let bytes = try AtomicFile.read(path, kind: .badImage)
        guard bytes.starts(with: signature) else {
            throw InputError(.badImage, file: path, "not a PNG file (no PNG signature)")
        }
        return textEntries(in: bytes)
    }

    static func textEntries(in bytes: [UInt8]) -> [(key: String, value: String)] {
        var entries: [(key: String, value: String)] = []
        var offset = signature.count
        while offset + 12 <= bytes.count {
            let length = Int(readBE32(bytes, offset))
            guard length <= bytes.count - offset - 12 else { break }
            let type = Array(bytes[offset + 4 ..< offset + 8])
            let data = Array(bytes[offset + 8 ..< offset + 8 + length])
            let stored = readBE32(bytes, offset + 8 + length)
            let crc = bytes.withUnsafeBytes { CRC32.update(0, UnsafeRawBufferPointer(rebasing: $0[offset + 4 ..< offset + 8 + length])) }
            offset += 12 + length
            guard crc == stored else { continue }
            if type == Array("tEXt".utf8), let nul = data.firstIndex(of: 0) {
                entries.append((latin1(data[..<nul]), latin1(data[(nul + 1)...])))
            } else if type == Array("iTXt".utf8), let nul = data.firstIndex(of: 0), nul + 2 < data.count,
                      data[nul + 1] == 0 /* uncompressed */,
                      let languageEnd = data[(nul + 3)...].firstIndex(of: 0),
                      let translatedEnd = data[(languageEnd + 1)...].firstIndex(of: 0) {
                entries.append((String(decoding: data[..<nul], as: UTF8.self),
                                String(decoding: data[(translatedEnd + 1)...], as: UTF8.self)))
            }
            if type == Array("IEND".utf8) { break }
        }
        return entries
    }

    // MARK: writing

    /// Writes an 8-bit RGB PNG atomically (temporary file + rename). Each
    /// `metadata` pair becomes a `tEXt` chunk (an `iTXt` chunk when the value is
    /// not ASCII), e.g. `("latent-tui", "seed=7")`.
    public static func write(_ image: RGBImage, to path: String,
                             metadata: [(key: String, value: String)] = []) throws(FileWriteError) {
        let bytes: [UInt8]
        do { bytes = try encode(image, metadata: metadata) } catch { throw FileWriteError(path: path, error.description) }
        try AtomicFile.write(bytes, to: path)
    }

    /// Writes an 8-bit grey PNG atomically.
    public static func write(_ image: GrayImage, to path: String,
                             metadata: [(key: String, value: String)] = []) throws(FileWriteError) {
        let bytes: [UInt8]
        do { bytes = try encode(image, metadata: metadata) } catch { throw FileWriteError(path: path, error.description) }
        try AtomicFile.write(bytes, to: path)
    }

    public static func encode(_ image: RGBImage, metadata: [(key: String, value: String)] = []) throws(EncodeError) -> [UInt8] {
        let png = try image.pixels.withUnsafeBytes { raw in
            Result { () throws(EncodeError) in
                try encode(width: image.width, height: image.height, format: UInt32(PNG_FORMAT_RGB), pixels: raw)
            }
        }.get()
        return try insertingText(metadata, into: png)
    }

    public static func encode(_ image: GrayImage, metadata: [(key: String, value: String)] = []) throws(EncodeError) -> [UInt8] {
        let png = try image.pixels.withUnsafeBytes { raw in
            Result { () throws(EncodeError) in
                try encode(width: image.width, height: image.height, format: UInt32(PNG_FORMAT_GRAY), pixels: raw)
            }
        }.get()
        return try insertingText(metadata, into: png)
    }

    /// Any simplified-API format: `pixels` holds rows of `width` pixels with no
    /// padding, in 1- or 2-byte components as `format` says (for colour-mapped
    /// formats, one byte per pixel and a `colormap` of `colormapEntries` entries
    /// in the format's sample layout). `linear` 16-bit formats are written as
    /// 16-bit PNGs.
    static func encode(width: Int, height: Int, format: UInt32, pixels: UnsafeRawBufferPointer,
                       colormap: UnsafeRawBufferPointer? = nil, colormapEntries: Int = 0) throws(EncodeError) -> [UInt8] {
        guard width > 0, height > 0 else {
            throw EncodeError(message: "a PNG needs at least one pixel, not \(width)×\(height)")
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, count <= maxPixels else {
            throw EncodeError(message: "image of \(width)×\(height) pixels is larger than the limit of \(maxPixels) pixels")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        image.colormap_entries = UInt32(colormapEntries)
        let componentSize = format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0 && format & UInt32(PNG_FORMAT_FLAG_COLORMAP) == 0 ? 2 : 1
        let rowComponents = Int(latent_png_image_row_stride(&image))
        precondition(pixels.count >= rowComponents * componentSize * height,
                     "\(pixels.count) bytes do not hold a \(width)×\(height) image in format \(format)")
        var capacity = Int(latent_png_image_png_size_max(&image))
        for _ in 0..<2 {
            var out = [UInt8](repeating: 0, count: capacity)
            var size = png_alloc_size_t(capacity)
            let ok = out.withUnsafeMutableBytes { buffer in
                png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, pixels.baseAddress,
                                          Int32(rowComponents), colormap?.baseAddress)
            }
            if ok != 0 {
                out.removeSubrange(Int(size)...)
                return out
            }
            // libpng reports a larger size when only the buffer was too small.
            guard Int(size) > capacity else { break }
            capacity = Int(size)
            image.warning_or_error = 0
        }
        throw EncodeError(message: "libpng: \(message(of: &image))")
    }

    // MARK: text chunks

    /// Inserts one text chunk per entry just before IEND. The simplified API
    /// cannot write text chunks, and the chunk layout is simple enough to
    /// splice in: length, type, data, CRC-32 of type + data.
    static func insertingText(_ entries: [(key: String, value: String)], into png: [UInt8]) throws(EncodeError) -> [UInt8] {
        guard !entries.isEmpty else { return png }
        let iend: [UInt8] = [0, 0, 0, 0] + Array("IEND".utf8)
        guard png.count >= signature.count + 12, Array(png[(png.count - 12)..<(png.count - 4)]) == iend else {
            throw EncodeError(message: "libpng's output does not end with IEND")
        }
        var out = Array(png[..<(png.count - 12)])
        for (key, value) in entries {
            guard isValidKeyword(key) else {
                throw EncodeError(message: "text key \"\(key)\" must be 1–79 printable Latin-1 characters without leading, trailing or double spaces")
            }
            let text = value.unicodeScalars.filter { $0 != "\0" }
            var data = Array(key.unicodeScalars.map { UInt8($0.value) })
            let type: String
            if text.allSatisfy({ $0.isASCII }) {
                type = "tEXt"
                data.append(0)
                data += text.map { UInt8($0.value) }
            } else {
                type = "iTXt" // UTF-8 text; no compression, no language tag
                data += [0, 0, 0, 0, 0]
                data += Array(String(String.UnicodeScalarView(text)).utf8)
            }
            out += chunk(type, data)
        }
        out += png[(png.count - 12)...]
        return out
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(CRC32.checksum(body))
    }

    /// PNG keywords: 1–79 Latin-1 printable characters, no leading, trailing or
    /// consecutive spaces.
    static func isValidKeyword(_ key: String) -> Bool {
        let scalars = Array(key.unicodeScalars)
        guard (1...79).contains(scalars.count), scalars.first != " ", scalars.last != " " else { return false }
        var previousSpace = false
        for s in scalars {
            let v = s.value
            guard (32...126).contains(v) || (161...255).contains(v) else { return false }
            if v == 32 && previousSpace { return false }
            previousSpace = v == 32
        }
        return true
    }

    // MARK: helpers

    static func message(of image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }

    static func readBE32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func latin1<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}
