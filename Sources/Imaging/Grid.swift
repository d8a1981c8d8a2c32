/// Tiles equally sized images row by row, left to right.
///
/// Layout: `columns` is capped at the image count (one image gives a 1×1 grid,
/// not a row of empty cells); rows = ⌈n / columns⌉. `gap` pixels of
/// `background` separate the cells *and* frame the border, so every cell has
/// the same surroundings and grids placed side by side keep their spacing:
/// width = cols·w + (cols + 1)·gap, height = rows·h + (rows + 1)·gap. Cells left
/// over in the last row are background.
public func grid(_ images: [RGBImage], columns: Int, gap: Int = 2,
                 background: (UInt8, UInt8, UInt8) = (0, 0, 0)) -> RGBImage {
    precondition(!images.isEmpty, "grid of no images")
    precondition(columns > 0, "grid needs at least one column, not \(columns)")
    precondition(gap >= 0, "negative grid gap \(gap)")
    let (w, h) = (images[0].width, images[0].height)
    let cols = min(columns, images.count)
    let rows = (images.count + cols - 1) / cols
    let outWidth = cols * w + (cols + 1) * gap
    let outHeight = rows * h + (rows + 1) * gap
    var out = RGBImage(width: outWidth, height: outHeight, fill: background)
    let rowBytes = w * 3
    out.pixels.withUnsafeMutableBufferPointer { dst in
        for (index, image) in images.enumerated() {
            precondition(image.width == w && image.height == h,
                         "grid image \(index) is \(image.width)×\(image.height), the first is \(w)×\(h)")
            let x0 = gap + (index % cols) * (w + gap)
            let y0 = gap + (index / cols) * (h + gap)
            image.pixels.withUnsafeBufferPointer { src in
                guard let srcBase = src.baseAddress, let dstBase = dst.baseAddress else { return }
                for y in 0..<h {
                    (dstBase + ((y0 + y) * outWidth + x0) * 3).update(from: srcBase + y * rowBytes, count: rowBytes)
                }
            }
        }
    }
    return out
}

extension RGBImage {
    /// The pixel rectangle at (x, y) of size width × height, which must lie
    /// inside the image.
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && width >= 0 && height >= 0 && x + width <= self.width && y + height <= self.height,
                     "crop \(width)×\(height) at (\(x), \(y)) outside \(self.width)×\(self.height)")
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let rowBytes = width * 3
        pixels.withUnsafeMutableBufferPointer { dst in
            self.pixels.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for row in 0..<height {
                    (d + row * rowBytes).update(from: s + ((y + row) * self.width + x) * 3, count: rowBytes)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The largest centred square (datasets are square; cropping before
    /// resizing keeps the aspect ratio). With an odd surplus the extra pixel
    /// is dropped on the right or bottom.
    public func centerCropSquare() -> RGBImage {
        let side = min(width, height)
        return cropped(x: (width - side) / 2, y: (height - side) / 2, width: side, height: side)
    }
}
