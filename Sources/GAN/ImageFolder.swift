import Foundation
import Imaging
import Tensors

/// `--data DIR`: every `.png` file in a folder and its subfolders (hidden
/// files and folders skipped, so a torchvision-style `DIR/class/x.png`
/// layout works too), centre-cropped to a square and resized to the model's
/// size once, at load time.
///
/// All images live in one [N, 3, S, S] array of bytes — a quarter of the
/// memory of floats, and exactly what the PNGs held — and batches are
/// converted to floats in the value range when they are drawn.
public struct ImageFolderDataset: Dataset {
    public let path: String
    public let imageSize: Int
    public let valueRange: (Float, Float)
    /// The images' paths relative to `path`, in storage order (sorted by name).
    public let files: [String]
    /// [N, 3, S, S] bytes, channel planes per image.
    let pixels: [UInt8]

    public var count: Int { files.count }
    public var summary: String { "folder \(path) (\(count) images, \(imageSize)×\(imageSize))" }

    /// Loads every PNG under `path`.
    ///
    /// - Throws: `InputError(.unreadable)` when `path` is not a readable folder;
    ///   `.missingData` when it holds no PNG file; `.badImage` listing (up to 5
    ///   names and a count) every file that cannot be decoded, so one run
    ///   shows everything there is to fix; `.badArgument` for a bad size.
    public init(path: String, imageSize: Int, valueRange: (Float, Float) = (-1, 1)) throws(InputError) {
        guard imageSize >= 1 && imageSize <= 4096 else {
            throw InputError(.badArgument, key: "--image-size", "is \(imageSize); use 1 to 4096 pixels")
        }
        guard valueRange.0.isFinite && valueRange.1.isFinite && valueRange.0 != valueRange.1 else {
            throw InputError(.badArgument, key: "value range", "\(valueRange) is empty or not finite")
        }
        let names = try Self.pngFiles(in: path)
        guard !names.isEmpty else {
            throw InputError(.missingData, file: path,
                             "no .png files in this folder or its subfolders; use --data shapes or a folder of PNG images")
        }
        let folder = path.hasSuffix("/") ? path : path + "/"
        let imageBytes = 3 * imageSize * imageSize
        var pixels: [UInt8] = []
        pixels.reserveCapacity(names.count * imageBytes)
        var loaded: [String] = []
        var failures: [(name: String, reason: String)] = []
        for name in names {
            let image: RGBImage
            do {
                image = try PNG.read(folder + name)
            } catch {
                failures.append((name, error.message))
                continue
            }
            guard image.width > 0 && image.height > 0 else {
                failures.append((name, "empty image"))
                continue
            }
            let square = image.centerCropSquare().resized(to: imageSize)
            Self.appendPlanes(of: square, to: &pixels)
            loaded.append(name)
        }
        if !failures.isEmpty {
            let listed = failures.prefix(5).map(\.name).joined(separator: ", ")
            let more = failures.count > 5 ? " and \(failures.count - 5) more" : ""
            throw InputError(.badImage, file: path,
                             "\(failures.count) of \(names.count) PNG files cannot be read: \(listed)\(more) "
                                 + "(\(failures[0].name): \(failures[0].reason)); fix or remove them")
        }
        (self.path, self.imageSize, self.valueRange, self.files, self.pixels) = (path, imageSize, valueRange, loaded, pixels)
    }

    /// Relative paths of the `.png` files (any letter case) under `path`, sorted.
    static func pngFiles(in path: String) throws(InputError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(.unreadable, file: path, "no such folder; use --data shapes or a folder of PNG images")
        }
        guard isDirectory.boolValue else {
            throw InputError(.unreadable, file: path, "is a file, not a folder of PNG images")
        }
        guard let walker = FileManager.default.enumerator(atPath: path) else {
            throw InputError(.unreadable, file: path, "cannot list the folder")
        }
        var names: [String] = []
        while let relative = walker.nextObject() as? String {
            let components = relative.split(separator: "/")
            if components.contains(where: { $0.hasPrefix(".") }) {
                walker.skipDescendants()
                continue
            }
            if relative.lowercased().hasSuffix(".png") { names.append(relative) }
        }
        // Byte order, so the storage order does not depend on the locale.
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Appends an RGB8 image as three channel planes.
    private static func appendPlanes(of image: RGBImage, to pixels: inout [UInt8]) {
        let plane = image.width * image.height
        let start = pixels.count
        pixels.append(contentsOf: repeatElement(0, count: 3 * plane))
        pixels.withUnsafeMutableBufferPointer { out in
            image.pixels.withUnsafeBufferPointer { src in
                for p in 0..<plane {
                    out[start + p] = src[3 * p]
                    out[start + plane + p] = src[3 * p + 1]
                    out[start + 2 * plane + p] = src[3 * p + 2]
                }
            }
        }
    }

    /// The images at `indices` as [indices.count, 3, S, S] in `valueRange`.
    public func images(at indices: [Int]) -> Tensor {
        let imageBytes = 3 * imageSize * imageSize
        var table = [Float](repeating: 0, count: 256)
        let step = (valueRange.1 - valueRange.0) / 255
        for b in 0..<256 { table[b] = b == 255 ? valueRange.1 : valueRange.0 + Float(b) * step }
        var values = [Float](repeating: 0, count: indices.count * imageBytes)
        table.withUnsafeBufferPointer { lut in
            pixels.withUnsafeBufferPointer { src in
                values.withUnsafeMutableBufferPointer { out in
                    for (row, index) in indices.enumerated() {
                        precondition(index >= 0 && index < count, "image index \(index) outside 0..<\(count)")
                        let from = index * imageBytes, to = row * imageBytes
                        for i in 0..<imageBytes { out[to + i] = lut[Int(src[from + i])] }
                    }
                }
            }
        }
        return Tensor(shape: [indices.count, 3, imageSize, imageSize], storage: values)
    }

    public func batch(_ n: Int, using rng: inout RandomGenerator) -> Tensor {
        precondition(n >= 0, "negative batch size \(n)")
        return images(at: (0..<n).map { _ in rng.nextInt(below: count) })
    }

    /// min(n, count) distinct images in random order.
    public func sampleImages(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        var order = Array(0..<count)
        let m = min(max(n, 0), count)
        for i in 0..<m { order.swapAt(i, i + rng.nextInt(below: count - i)) } // partial Fisher–Yates
        return images(at: Array(order.prefix(m)))
    }
}
