import Foundation
import Imaging
import NN
import Tensors

// Sample quality without a pretrained network: generated images and dataset
// images are both reduced to `ShapeStatistics` vectors (position, size,
// orientation, hue, compactness, background), and their distributions are
// compared per statistic, as a whole (Fréchet distance between fitted
// Gaussians, like FID on a tiny hand-made feature space), and by support
// (precision and recall of k-NN manifolds, Kynkäänniemi et al. 2019).

/// One statistic, real against generated.
public struct StatisticComparison: Codable, Equatable, Sendable {
    public var name: String
    public var realMean: Float
    public var generatedMean: Float
    public var realStd: Float
    public var generatedStd: Float
    /// 1-D Wasserstein-1 distance between the two empirical distributions, in the statistic's units.
    public var wasserstein: Float
    /// The same divided by the real data's standard deviation, so statistics can be compared.
    public var standardisedWasserstein: Float
}

/// How often one of `ShapeStatistics.clean`'s conditions holds, real against generated.
public struct CleanConditionShare: Codable, Equatable, Sendable {
    public var condition: ShapeStatistics.CleanCondition
    public var real: Float
    public var generated: Float
}

/// Sample-quality figures of a generator against its dataset.
public struct EvaluationReport: Codable, Equatable, Sendable {
    public var generatedCount: Int
    public var realCount: Int
    public var statistics: [StatisticComparison]
    /// Fréchet distance between Gaussians fitted to the statistic vectors,
    /// each statistic first standardised by the real data's mean and std
    /// (so position, area and hue count alike): 0 for identical
    /// distributions, about 2·d/n from sampling noise alone.
    public var frechet: Float
    /// Share of generated samples inside the real k-NN manifold (fidelity).
    public var precision: Float
    /// Share of real samples inside the generated k-NN manifold (coverage).
    public var recall: Float
    /// k of the k-NN manifolds.
    public var neighbours: Int
    /// Share of generated images that show one clean shape (`ShapeStatistics.clean`).
    public var cleanFraction: Float
    /// The same for the dataset images (≈ 1 for shapes; a reference for folders).
    public var realCleanFraction: Float
    /// Each condition of a clean shape on its own: which ones the samples miss
    /// (nil in reports saved before they were measured, e.g. an ablation's result.json).
    public var cleanConditions: [CleanConditionShare]?
    /// Where the figures came from, when known (`evaluateCheckpoint` fills them in).
    public var data: String?
    public var seed: UInt64?
    /// ψ of the latent draws, when not 1.
    public var truncation: Float?

    /// A plain-text table for terminals.
    public var text: String {
        func f(_ v: Float, _ width: Int = 9) -> String {
            let s = String(format: "%.3f", v)
            return String(repeating: " ", count: max(0, width - s.count)) + s
        }
        let psi = truncation.map { ", truncation ψ \(String(format: "%.2f", $0))" } ?? ""
        let source = data.map { " (\($0)" + (seed.map { ", seed \($0)" } ?? "") + psi + ")" } ?? ""
        var lines = ["\(generatedCount) generated vs \(realCount) dataset images\(source), compared through shape statistics",
                     "",
                     "statistic        real mean  gen mean  real std   gen std        W1      W1/σ"]
        for s in statistics {
            let name = s.name.padding(toLength: 15, withPad: " ", startingAt: 0)
            lines.append("\(name)  \(f(s.realMean)) \(f(s.generatedMean)) \(f(s.realStd)) \(f(s.generatedStd)) "
                             + "\(f(s.wasserstein)) \(f(s.standardisedWasserstein))")
        }
        lines += ["",
                  "Fréchet distance (standardised statistics)  \(String(format: "%.4f", frechet))",
                  "precision (k = \(neighbours))                          \(String(format: "%.3f", precision))",
                  "recall (k = \(neighbours))                             \(String(format: "%.3f", recall))",
                  "clean shapes                                generated \(String(format: "%.3f", cleanFraction)), "
                      + "dataset \(String(format: "%.3f", realCleanFraction))"]
        for share in cleanConditions ?? [] {
            let name = "  " + share.condition.label
            lines.append(name.padding(toLength: 44, withPad: " ", startingAt: 0)
                             + "generated \(String(format: "%.3f", share.generated)), dataset \(String(format: "%.3f", share.real))")
        }
        return lines.joined(separator: "\n")
    }

    /// Header (two lines) of a Markdown table with one `markdownRow` per run.
    public static let markdownHeader = "| Fréchet | precision | recall | clean | dataset clean | n |\n|---:|---:|---:|---:|---:|---:|"

    public var markdownRow: String {
        String(format: "| %.4f | %.3f | %.3f | %.3f | %.3f | %d |",
               frechet, precision, recall, cleanFraction, realCleanFraction, generatedCount)
    }

    /// Pretty JSON with snake_case keys (non-finite numbers as strings).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Only non-finite floats can make JSONEncoder fail, and they are handled above.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Compares generated images with dataset images, both [N, C, H, W] with
/// values in `valueRange`.
public func evaluate(generated: Tensor, real: Tensor, valueRange: (Float, Float), neighbours k: Int = 3) -> EvaluationReport {
    evaluate(generated: shapeStatistics(batch: generated, valueRange: valueRange),
             real: shapeStatistics(batch: real, valueRange: valueRange), neighbours: k)
}

/// Compares statistics already measured. Both sets need more than k elements.
public func evaluate(generated: [ShapeStatistics], real: [ShapeStatistics], neighbours k: Int = 3) -> EvaluationReport {
    precondition(k >= 1 && generated.count > k && real.count > k,
                 "evaluation needs more than k = \(k) images on each side (\(generated.count) generated, \(real.count) real)")
    let names = ShapeStatistics.names
    let d = names.count
    let gen = generated.map(\.vector), ref = real.map(\.vector)

    var comparisons: [StatisticComparison] = []
    var realMean = [Double](repeating: 0, count: d), realStd = [Double](repeating: 0, count: d)
    for j in 0..<d {
        let a = ref.map { $0[j] }, b = gen.map { $0[j] }
        let (ma, sa) = meanAndStd(a), (mb, sb) = meanAndStd(b)
        let w1 = wasserstein1(a, b)
        // A floor keeps a statistic that is constant in the data (a folder of
        // one background colour) from blowing up the standardised figures.
        let scale = max(sa, 0.01)
        (realMean[j], realStd[j]) = (ma, scale)
        comparisons.append(StatisticComparison(name: names[j], realMean: Float(ma), generatedMean: Float(mb),
                                               realStd: Float(sa), generatedStd: Float(sb),
                                               wasserstein: w1, standardisedWasserstein: Float(Double(w1) / scale)))
    }
    func standardise(_ rows: [[Float]]) -> [[Double]] {
        rows.map { row in (0..<d).map { (Double(row[$0]) - realMean[$0]) / realStd[$0] } }
    }
    let zGen = standardise(gen), zRef = standardise(ref)
    let frechet = frechetDistance(zRef, zGen)
    let (precision, recall) = manifoldPrecisionRecall(real: zRef, generated: zGen, k: k)
    func share(_ images: [ShapeStatistics], _ holds: (ShapeStatistics) -> Bool) -> Float {
        Float(images.filter(holds).count) / Float(images.count)
    }
    return EvaluationReport(
        generatedCount: generated.count, realCount: real.count, statistics: comparisons,
        frechet: Float(frechet), precision: precision, recall: recall, neighbours: k,
        cleanFraction: share(generated, \.clean), realCleanFraction: share(real, \.clean),
        cleanConditions: ShapeStatistics.CleanCondition.allCases.map { condition in
            CleanConditionShare(condition: condition, real: share(real) { $0.meets(condition) },
                                generated: share(generated) { $0.meets(condition) })
        })
}

// MARK: the evaluate command's work

/// Channels and side of the images a generator makes: the spec's
/// `image_size` when given, else its output shape.
///
/// - Throws: `InputError(.badSpec)` when the output is not [1 or 3, S, S].
public func generatorImageShape(_ spec: NetworkSpec, file: String? = nil) throws -> (channels: Int, size: Int) {
    guard let output = try spec.shapes().last, output.count == 3, output[1] == output[2],
          output[0] == 1 || output[0] == 3 else {
        let shape = (try? spec.shapes().last).map { "\($0)" } ?? "?"
        throw InputError(.badSpec, file: file, key: "generator",
                         "outputs samples of shape \(shape); images [1 or 3, S, S] are needed")
    }
    if let size = spec.imageSize, size != output[1] {
        throw InputError(.badSpec, file: file, key: "generator.image_size",
                         "is \(size) but the layers make \(output[1])×\(output[2]) images")
    }
    return (output[0], output[1])
}

/// `latent-tui evaluate`: `count` samples from the prior (latents seeded by
/// `seed`, generated `batchSize` at a time and reduced to statistics at once,
/// so memory stays flat) against `count` dataset images at the generator's
/// size and value range (`data`: `shapes` or a PNG folder, which may give
/// fewer: each of its images is used at most once). `drawImages` replaces
/// the prior draw (rejection sampling passes its accepted samples, drawn with the
/// same ψ); `truncation` ψ scales the prior draw and is recorded in the report.
public func evaluateCheckpoint(_ checkpoint: Checkpoint, data: String, count n: Int, seed: UInt64,
                               truncation: Float = 1, batchSize: Int = 64, neighbours k: Int = 3, file: String? = nil,
                               drawImages: ((_ count: Int, _ rng: inout RandomGenerator) throws -> Tensor)? = nil,
                               progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> EvaluationReport {
    guard n > k else {
        throw InputError(.badArgument, key: "--n", "is \(n); evaluation needs more than \(k) samples")
    }
    try checkTruncation(truncation)
    let (_, size) = try generatorImageShape(checkpoint.generator.spec, file: file)
    let range = checkpoint.valueRange
    // A seed apart from the latents' so the two draws are unrelated.
    let dataset = try openDataset(data, imageSize: size, seed: seed ^ 0xDA7A_5EED, valueRange: range)
    let real = shapeStatistics(batch: dataset.sampleImages(n, seed: seed ^ 0xDA7A_5EED), valueRange: range)
    guard real.count > k else {
        throw InputError(.missingData, file: data, "has \(real.count) images; evaluation needs more than \(k)")
    }
    var rng = RandomGenerator(seed: seed)
    var generated: [ShapeStatistics] = []
    generated.reserveCapacity(n)
    while generated.count < n {
        let b = min(max(batchSize, 1), n - generated.count)
        let images = try drawImages?(b, &rng)
            ?? checkpoint.generate(checkpoint.sampleLatents(b, truncation: truncation, using: &rng))
        generated += shapeStatistics(batch: images, valueRange: range)
        progress?(generated.count, n)
    }
    var report = evaluate(generated: generated, real: real, neighbours: k)
    (report.data, report.seed) = (dataset.summary, seed)
    report.truncation = truncation == 1 ? nil : truncation
    return report
}

// MARK: distances

/// Mean and (population) standard deviation, in Double.
func meanAndStd(_ values: [Float]) -> (Double, Double) {
    guard !values.isEmpty else { return (0, 0) }
    var sum = 0.0
    for v in values { sum += Double(v) }
    let mean = sum / Double(values.count)
    var sq = 0.0
    for v in values { sq += (Double(v) - mean) * (Double(v) - mean) }
    return (mean, (sq / Double(values.count)).squareRoot())
}

/// Wasserstein-1 distance between two empirical 1-D distributions (any
/// sizes): ∫ |F_a(t) − F_b(t)| dt, by one merge of the sorted samples.
public func wasserstein1(_ a: [Float], _ b: [Float]) -> Float {
    guard !a.isEmpty, !b.isEmpty else { return 0 }
    let x = a.sorted(), y = b.sorted()
    let (na, nb) = (Double(x.count), Double(y.count))
    var i = 0, j = 0
    var previous = Double(min(x[0], y[0]))
    var total = 0.0
    while i < x.count || j < y.count {
        let takeA = j >= y.count || (i < x.count && x[i] <= y[j])
        let next = Double(takeA ? x[i] : y[j])
        total += abs(Double(i) / na - Double(j) / nb) * (next - previous)
        previous = next
        if takeA { i += 1 } else { j += 1 }
    }
    return Float(total)
}

/// Fréchet distance between Gaussians fitted to two samples (rows are samples):
/// ‖μa − μb‖² + tr(Σa + Σb − 2(Σa^½ Σb Σa^½)^½).
public func frechetDistance(_ a: [[Double]], _ b: [[Double]]) -> Double {
    let (ma, ca) = meanAndCovariance(a), (mb, cb) = meanAndCovariance(b)
    return frechetDistance(meanA: ma, covarianceA: ca, meanB: mb, covarianceB: cb)
}

/// The closed form on given moments (covariances row-major d×d). Only
/// symmetric eigen-decompositions are needed: (Σa^½ Σb Σa^½) is symmetric
/// positive semi-definite, so the trace of its square root is the sum of the
/// square roots of its eigenvalues.
public func frechetDistance(meanA: [Double], covarianceA: [Double], meanB: [Double], covarianceB: [Double]) -> Double {
    let d = meanA.count
    precondition(meanB.count == d && covarianceA.count == d * d && covarianceB.count == d * d,
                 "Fréchet distance of mismatched sizes")
    var distance = 0.0
    for i in 0..<d { distance += (meanA[i] - meanB[i]) * (meanA[i] - meanB[i]) }
    let rootA = symmetricSquareRoot(covarianceA, n: d)
    let middle = multiply(multiply(rootA, covarianceB, d), rootA, d)
    let (values, _) = jacobiEigen(symmetrised(middle, d), n: d)
    var traceRoot = 0.0
    for v in values { traceRoot += max(v, 0).squareRoot() }
    for i in 0..<d { distance += covarianceA[i * d + i] + covarianceB[i * d + i] }
    return max(distance - 2 * traceRoot, 0)
}

func meanAndCovariance(_ rows: [[Double]]) -> (mean: [Double], covariance: [Double]) {
    guard let d = rows.first?.count else { return ([], []) }
    let n = Double(rows.count)
    var mean = [Double](repeating: 0, count: d)
    for row in rows { for i in 0..<d { mean[i] += row[i] } }
    for i in 0..<d { mean[i] /= n }
    var cov = [Double](repeating: 0, count: d * d)
    var centred = [Double](repeating: 0, count: d)
    for row in rows {
        for i in 0..<d { centred[i] = row[i] - mean[i] }
        for i in 0..<d { for j in i..<d { cov[i * d + j] += centred[i] * centred[j] } }
    }
    let denominator = max(n - 1, 1)
    for i in 0..<d {
        for j in i..<d {
            cov[i * d + j] /= denominator
            cov[j * d + i] = cov[i * d + j]
        }
    }
    return (mean, cov)
}

/// Precision and recall of Kynkäänniemi et al. (2019): each sample's
/// manifold ball reaches its k-th nearest neighbour within its own set;
/// precision is the share of generated samples inside some real ball,
/// recall the share of real samples inside some generated ball.
public func manifoldPrecisionRecall(real: [[Double]], generated: [[Double]], k: Int) -> (precision: Float, recall: Float) {
    precondition(k >= 1 && real.count > k && generated.count > k, "k-NN manifolds need more than k samples per set")
    let d = real[0].count
    let flatReal = real.flatMap { $0.map(Float.init) }, flatGen = generated.flatMap { $0.map(Float.init) }
    let realRadii = kthNeighbourDistances(flatReal, count: real.count, dimension: d, k: k)
    let genRadii = kthNeighbourDistances(flatGen, count: generated.count, dimension: d, k: k)
    let precision = coveredFraction(flatGen, generated.count, by: flatReal, real.count, radii: realRadii, dimension: d)
    let recall = coveredFraction(flatReal, real.count, by: flatGen, generated.count, radii: genRadii, dimension: d)
    return (precision, recall)
}

/// Squared distance from each point to its k-th nearest other point.
private func kthNeighbourDistances(_ points: [Float], count n: Int, dimension d: Int, k: Int) -> [Float] {
    var radii = [Float](repeating: 0, count: n)
    var nearest = [Float](repeating: 0, count: k)
    points.withUnsafeBufferPointer { p in
        for i in 0..<n {
            for s in 0..<k { nearest[s] = .infinity } // ascending, k smallest so far
            for j in 0..<n where j != i {
                var dist: Float = 0
                for c in 0..<d { let t = p[i * d + c] - p[j * d + c]; dist += t * t }
                guard dist < nearest[k - 1] else { continue }
                var s = k - 1
                while s > 0 && nearest[s - 1] > dist { nearest[s] = nearest[s - 1]; s -= 1 }
                nearest[s] = dist
            }
            radii[i] = nearest[k - 1]
        }
    }
    return radii
}

/// Share of `queries` within the ball (squared radius) of at least one of `centres`.
private func coveredFraction(_ queries: [Float], _ nq: Int, by centres: [Float], _ nc: Int,
                             radii: [Float], dimension d: Int) -> Float {
    var covered = 0
    queries.withUnsafeBufferPointer { q in
        centres.withUnsafeBufferPointer { c in
            for i in 0..<nq {
                for j in 0..<nc {
                    var dist: Float = 0
                    for e in 0..<d { let t = q[i * d + e] - c[j * d + e]; dist += t * t }
                    if dist <= radii[j] { covered += 1; break }
                }
            }
        }
    }
    return Float(covered) / Float(max(nq, 1))
}

// MARK: small dense linear algebra (Double)

/// Eigen-decomposition of a symmetric n×n matrix (row-major) by cyclic Jacobi
/// rotations, in Double. Chosen over LAPACK's float `ssyevd_` for the
/// Fréchet distance: its matrices are tiny (one row per statistic) and the
/// trace term subtracts nearly equal numbers, which float would blur.
/// Returns eigenvalues (unsorted) and eigenvectors as the columns of a row-major matrix.
func jacobiEigen(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
    precondition(matrix.count == n * n)
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    var scale = 0.0
    for x in a { scale += x * x }
    guard scale > 0, scale.isFinite else { return ((0..<n).map { a[$0 * n + $0] }, v) }
    for _ in 0..<100 {
        var off = 0.0
        for p in 0..<n { for q in 0..<n where q != p { off += a[p * n + q] * a[p * n + q] } }
        if off <= 1e-28 * scale { break }
        for p in 0..<(n - 1) {
            for q in (p + 1)..<n {
                let apq = a[p * n + q]
                if abs(apq) <= 1e-300 { continue }
                let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<n { // columns p, q: A·J
                    let akp = a[k * n + p], akq = a[k * n + q]
                    a[k * n + p] = c * akp - s * akq
                    a[k * n + q] = s * akp + c * akq
                }
                for k in 0..<n { // rows p, q: Jᵀ·A
                    let apk = a[p * n + k], aqk = a[q * n + k]
                    a[p * n + k] = c * apk - s * aqk
                    a[q * n + k] = s * apk + c * aqk
                }
                for k in 0..<n { // V·J
                    let vkp = v[k * n + p], vkq = v[k * n + q]
                    v[k * n + p] = c * vkp - s * vkq
                    v[k * n + q] = s * vkp + c * vkq
                }
            }
        }
    }
    return ((0..<n).map { a[$0 * n + $0] }, v)
}

/// Principal square root of a symmetric positive semi-definite matrix
/// (negative eigenvalues from rounding are taken as 0).
func symmetricSquareRoot(_ matrix: [Double], n: Int) -> [Double] {
    let (values, vectors) = jacobiEigen(symmetrised(matrix, n), n: n)
    var root = [Double](repeating: 0, count: n * n)
    for e in 0..<n {
        let r = max(values[e], 0).squareRoot()
        guard r > 0 else { continue }
        for i in 0..<n {
            let vi = vectors[i * n + e] * r
            for j in 0..<n { root[i * n + j] += vi * vectors[j * n + e] }
        }
    }
    return root
}

private func multiply(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for k in 0..<n { let aik = a[i * n + k]; for j in 0..<n { c[i * n + j] += aik * b[k * n + j] } } }
    return c
}

private func symmetrised(_ a: [Double], _ n: Int) -> [Double] {
    var s = a
    for i in 0..<n { for j in 0..<n { s[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]) } }
    return s
}
