/// Worker threads for the tensor kernels that are not BLAS (set with `setWorkerThreads`).
nonisolated(unsafe) private var workerThreads = 1

/// Sets how many threads elementwise and im2col kernels may use (`--threads`).
public func setWorkerThreads(_ count: Int) {
    workerThreads = max(1, count)
    WorkerPool.shared.ensureWorkers(workerThreads)
}

/// The worker threads kernels may use.
public var workerThreadCount: Int { workerThreads }

/// Runs `body(i)` for i in 0..<count, on several threads when the total work
/// (`count · cost` element operations) is large enough to pay for them.
public func parallelFor(_ count: Int, cost: Int, _ body: (Int) -> Void) {
    let threads = min(workerThreads, count)
    if threads <= 1 || count * cost < 1 << 16 {
        for i in 0..<count { body(i) }
        return
    }
    // Callers hand in disjoint index ranges of buffers; the closure itself is shared read-only.
    WorkerPool.shared.run(parts: threads) { t in
        var i = t
        while i < count {
            body(i)
            i += threads
        }
    }
}

/// Runs `body(part)` for part in 0..<parts, concurrently on the worker threads when
/// there are any (kernels inside a part then run on that part's thread alone).
/// Parts must touch disjoint memory.
public func runConcurrently(parts: Int, _ body: (Int) -> Void) {
    if workerThreads <= 1 || parts <= 1 {
        for part in 0..<parts { body(part) }
        return
    }
    WorkerPool.shared.run(parts: parts, body)
}

#if os(Linux)
import CBLAS

/// Keeps freed tensor buffers in the heap for the next allocation instead of
/// returning them to the kernel: glibc maps large blocks fresh on every
/// malloc, and first-touch page faults on them cost ~10 % of a training step.
public func keepFreedMemoryForReuse() {
    _ = mallopt(M_MMAP_MAX, 0)               // no block is mmapped…
    _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)   // …and up to 1 GiB of free heap stays mapped
}
#else
public func keepFreedMemoryForReuse() {}
#endif
