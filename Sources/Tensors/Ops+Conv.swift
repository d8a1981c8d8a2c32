// Convolutions as im2col/col2im + one GEMM. im2col and col2im are each
// other's adjoints, so conv2d and conv-transpose2d get their gradients (of any
// order) from the matmul, reshape and permute rules with no rule of their own.

/// Kernel size, stride and zero padding of a 2-D window op.
public struct ConvGeometry: Hashable, Sendable {
    public var kernelH: Int, kernelW: Int, stride: Int, padding: Int

    public init(kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.init(kernelH: kernel, kernelW: kernel, stride: stride, padding: padding)
    }

    public init(kernelH: Int, kernelW: Int, stride: Int = 1, padding: Int = 0) {
        precondition(kernelH > 0 && kernelW > 0 && stride > 0 && padding >= 0, "bad window geometry")
        (self.kernelH, self.kernelW, self.stride, self.padding) = (kernelH, kernelW, stride, padding)
    }

    /// Output size of the window slid over an input of size `h`×`w`.
    public func outputSize(h: Int, w: Int) -> (Int, Int) {
        ((h + 2 * padding - kernelH) / stride + 1, (w + 2 * padding - kernelW) / stride + 1)
    }
}

extension Tensor {
    /// Unfolds windows of an [N, C, H, W] image into columns:
    /// [C·kh·kw, N·OH·OW], row (c, i, j), column (n, oy, ox).
    public func im2col(_ geometry: ConvGeometry) -> Tensor {
        precondition(rank == 4, "im2col needs [N, C, H, W], got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = geometry.outputSize(h: h, w: w)
        precondition(oh > 0 && ow > 0, "window \(geometry.kernelH)×\(geometry.kernelW) does not fit \(h)×\(w) with padding \(geometry.padding)")
        let rows = c * geometry.kernelH * geometry.kernelW, columns = n * oh * ow
        let out = [Float](unsafeUninitializedCapacity: rows * columns) { po, initialized in
            storage.withUnsafeBufferPointer { pi in
                unfoldWindows(pi.baseAddress!, into: po.baseAddress!, n: n, c: c, h: h, w: w, geometry)
            }
            initialized = rows * columns
        }
        return Tensor.result(shape: [rows, columns], storage: out, op: "im2col", inputs: [self]) { g, _, _ in
            [g.col2im(imageShape: self.shape, geometry)]
        }
    }

    /// Folds columns back into an image, summing overlaps (adjoint of `im2col`).
    public func col2im(imageShape: [Int], _ geometry: ConvGeometry) -> Tensor {
        precondition(imageShape.count == 4, "col2im needs an [N, C, H, W] image shape")
        let (n, c, h, w) = (imageShape[0], imageShape[1], imageShape[2], imageShape[3])
        let (oh, ow) = geometry.outputSize(h: h, w: w)
        precondition(shape == [c * geometry.kernelH * geometry.kernelW, n * oh * ow],
                     "col2im: columns \(shape) do not match image \(imageShape) with \(geometry)")
        let total = imageShape.product
        let out = [Float](unsafeUninitializedCapacity: total) { po, initialized in
            storage.withUnsafeBufferPointer { pi in
                foldWindows(pi.baseAddress!, into: po.baseAddress!, n: n, c: c, h: h, w: w, geometry)
            }
            initialized = total
        }
        return Tensor.result(shape: imageShape, storage: out, op: "col2im", inputs: [self]) { g, _, _ in
            [g.im2col(geometry)]
        }
    }

    /// 2-D cross-correlation, PyTorch's `conv2d`: x [N, C, H, W], weight [O, C, kh, kw], bias [O].
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(rank == 4 && weight.rank == 4 && weight.shape[1] == shape[1],
                     "conv2d: input \(shape) and weight \(weight.shape) do not match")
        let (n, o) = (shape[0], weight.shape[0])
        let geometry = ConvGeometry(kernelH: weight.shape[2], kernelW: weight.shape[3], stride: stride, padding: padding)
        let (oh, ow) = geometry.outputSize(h: shape[2], w: shape[3])
        let columns = im2col(geometry)                                            // [C·k·k, N·L]
        return matmul(weight.reshaped([o, -1]), columns)                           // [O, N·L]
            .reshaped([o, n, oh, ow]).channelsFirst(adding: bias)                  // [N, O, OH, OW]
    }

    /// [O, N, H, W] → [N, O, H, W] plus a per-channel bias: a permute and a broadcast
    /// add in one pass over the convolution's output (their gradients, fused only forward).
    func channelsFirst(adding bias: Tensor?) -> Tensor {
        guard let bias else { return permuted([1, 0, 2, 3]) }
        let (o, n, plane) = (shape[0], shape[1], shape[2] * shape[3])
        precondition(bias.shape == [o], "bias \(bias.shape) for \(o) channels")
        let out = [Float](unsafeUninitializedCapacity: count) { po, initialized in
            storage.withUnsafeBufferPointer { pi in
                bias.storage.withUnsafeBufferPointer { pb in
                    for ch in 0..<o {
                        for b in 0..<n {
                            let (src, dst) = (pi.baseAddress! + (ch * n + b) * plane, po.baseAddress! + (b * o + ch) * plane)
                            for i in 0..<plane { dst[i] = src[i] + pb[ch] }
                        }
                    }
                }
            }
            initialized = count
        }
        return Tensor.result(shape: [n, o, shape[2], shape[3]], storage: out, op: "channels_first_bias",
                             inputs: [self, bias]) { g, _, needs in
            [needs[0] ? g.permuted([1, 0, 2, 3]) : nil,
             needs[1] ? g.sum(toShape: [1, o, 1, 1]).reshaped([o]) : nil]
        }
    }

    /// PyTorch's `conv_transpose2d`: x [N, Cin, H, W], weight [Cin, Cout, kh, kw], bias [Cout].
    /// Computed as a GEMM into columns and a col2im, with no zero insertion.
    public func convTranspose2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0,
                                outputPadding: Int = 0) -> Tensor {
        precondition(rank == 4 && weight.rank == 4 && weight.shape[0] == shape[1],
                     "conv_transpose2d: input \(shape) and weight \(weight.shape) do not match")
        precondition(outputPadding < stride, "output padding must be smaller than the stride")
        let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
        let geometry = ConvGeometry(kernelH: kh, kernelW: kw, stride: stride, padding: padding)
        let oh = (h - 1) * stride - 2 * padding + kh + outputPadding
        let ow = (w - 1) * stride - 2 * padding + kw + outputPadding
        precondition(oh > 0 && ow > 0, "conv_transpose2d: empty output for input \(shape)")
        let flat = (n == 1 ? reshaped([cin, h * w]) : permuted([1, 0, 2, 3]).reshaped([cin, n * h * w]))
        let columns = matmul(weight.reshaped([cin, cout * kh * kw]), flat, transposeA: true)  // [Cout·k·k, N·H·W]
        let y = columns.col2im(imageShape: [n, cout, oh, ow], geometry)
        return bias.map { y + $0.reshaped([1, cout, 1, 1]) } ?? y
    }

    /// Nearest-neighbour upsampling of [N, C, H, W] by an integer factor (adjoint: `sumPool`).
    public func upsampleNearest(_ scale: Int) -> Tensor {
        precondition(rank == 4 && scale >= 1, "upsample needs [N, C, H, W] and scale ≥ 1")
        if scale == 1 { return self }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = (h * scale, w * scale)
        let total = n * c * oh * ow
        let out = [Float](unsafeUninitializedCapacity: total) { po, initialized in
            storage.withUnsafeBufferPointer { pi in
                for plane in 0..<(n * c) {
                    for oy in 0..<oh {
                        let src = plane * h * w + (oy / scale) * w
                        let dst = plane * oh * ow + oy * ow
                        for ox in 0..<ow { po[dst + ox] = pi[src + ox / scale] }
                    }
                }
            }
            initialized = total
        }
        return Tensor.result(shape: [n, c, oh, ow], storage: out, op: "upsample", inputs: [self]) { g, _, _ in
            [g.sumPool(scale)]
        }
    }

    /// Sums non-overlapping k×k blocks (trailing rows/columns that do not fill a block are dropped).
    public func sumPool(_ k: Int) -> Tensor {
        precondition(rank == 4 && k >= 1, "pool needs [N, C, H, W] and kernel ≥ 1")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = (h / k, w / k)
        precondition(oh > 0 && ow > 0, "pool kernel \(k) larger than \(h)×\(w)")
        var out = [Float](repeating: 0, count: n * c * oh * ow)
        out.withUnsafeMutableBufferPointer { po in
            storage.withUnsafeBufferPointer { pi in
                for plane in 0..<(n * c) {
                    for y in 0..<(oh * k) {
                        let src = plane * h * w + y * w
                        let dst = plane * oh * ow + (y / k) * ow
                        for x in 0..<(ow * k) { po[dst + x / k] += pi[src + x] }
                    }
                }
            }
        }
        return Tensor.result(shape: [n, c, oh, ow], storage: out, op: "sum_pool", inputs: [self]) { g, _, _ in
            [g.upsampleNearest(k).padded([(0, 0), (0, 0), (0, h - oh * k), (0, w - ow * k)])]
        }
    }

    /// Average pooling with kernel = stride = k (PyTorch's `avg_pool2d(x, k)`).
    public func avgPool(_ k: Int) -> Tensor {
        sumPool(k) * (1 / Float(k * k))
    }
}
