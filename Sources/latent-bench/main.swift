import Foundation
import Tensors

// Benchmarks of the tensor engine (run with `swift run -c release latent-bench`).
// Each figure is the median of repeated runs after a warm-up; min and max are
// printed so noise on shared machines is visible.

struct Measurement {
    let name: String
    let seconds: [Double]
    var median: Double { seconds.sorted()[seconds.count / 2] }
    var min: Double { seconds.min() ?? 0 }
    var max: Double { seconds.max() ?? 0 }
}

func measure(_ name: String, repeats: Int, warmup: Int = 2, _ body: () -> Void) -> Measurement {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return Measurement(name: name, seconds: times)
}

func report(_ m: Measurement, flops: Double? = nil) {
    var line = String(format: "%-48@ median %9.3f ms  (min %.3f, max %.3f)", m.name as NSString,
                      m.median * 1e3, m.min * 1e3, m.max * 1e3)
    if let flops { line += String(format: "  %7.1f GFLOP/s", flops / m.median / 1e9) }
    print(line)
}

let arguments = CommandLine.arguments.dropFirst()
let threads = arguments.first.flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
setBLASThreads(threads)
print("latent-bench · BLAS threads \(threads) · \(ProcessInfo.processInfo.activeProcessorCount) cores")
var rng = RandomGenerator(seed: 1)

for n in [256, 1024] {
    let a = Tensor.normal([n, n], using: &rng), b = Tensor.normal([n, n], using: &rng)
    let m = measure("sgemm \(n)×\(n)×\(n)", repeats: n == 256 ? 50 : 10) { _ = matmul(a, b) }
    report(m, flops: 2 * pow(Double(n), 3))
}

// DCGAN-sized critic layer: batch 64, 128 → 256 channels, 8×8 input, kernel 4, stride 2, padding 1.
do {
    let x = Tensor.normal([64, 128, 8, 8], using: &rng).requiringGrad()
    let w = Tensor.normal([256, 128, 4, 4], std: 0.02, using: &rng).requiringGrad()
    let b = Tensor.zeros([256]).requiringGrad()
    let flops = 2.0 * 64 * 256 * 4 * 4 * 128 * 16
    let forward = measure("conv2d forward  64×128×8×8 → 256, k4 s2", repeats: 10) {
        _ = withoutGrad { x.conv2d(weight: w, bias: b, stride: 2, padding: 1) }
    }
    report(forward, flops: flops)
    let y = x.conv2d(weight: w, bias: b, stride: 2, padding: 1)
    let upstream = Tensor.normal(y.shape, using: &rng)
    let backward = measure("conv2d backward (dx, dw, db)", repeats: 10) {
        _ = gradients(of: y, wrt: [x, w, b], seed: upstream)
    }
    report(backward, flops: 2 * flops)
}

// One second-order step: WGAN-GP penalty of a small critic and its parameter gradients.
do {
    let batch = 64
    let parameters = [
        Tensor.normal([64, 3, 4, 4], std: 0.05, using: &rng), Tensor.zeros([64]),
        Tensor.normal([128, 64, 4, 4], std: 0.05, using: &rng), Tensor.zeros([128]),
        Tensor.normal([1, 128 * 8 * 8], std: 0.01, using: &rng), Tensor.zeros([1]),
    ].map { $0.requiringGrad() }
    let xhat = Tensor.normal([batch, 3, 32, 32], using: &rng)
    func critic(_ x: Tensor) -> Tensor {
        let h1 = x.conv2d(weight: parameters[0], bias: parameters[1], stride: 2, padding: 1).leakyRelu(0.2)
        let h2 = h1.conv2d(weight: parameters[2], bias: parameters[3], stride: 2, padding: 1).leakyRelu(0.2)
        return h2.flattened().linear(weight: parameters[4], bias: parameters[5])
    }
    let m = measure("gradient-penalty step, critic 3→64→128, batch 64", repeats: 5) {
        let x = xhat.detached().requiringGrad()
        let gx = gradients(of: critic(x).sum(), wrt: [x], createGraph: true)[0]
        let norm = (gx.square().sum(axes: [1, 2, 3]) + 1e-12).sqrt()
        let penalty = (norm - 1).square().mean() * 10
        _ = gradients(of: penalty, wrt: parameters)
    }
    report(m)
}
