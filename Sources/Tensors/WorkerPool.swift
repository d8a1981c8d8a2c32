import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Persistent helper threads for the kernels' parallel parts (split GEMMs,
/// im2col/col2im planes, elementwise chunks).
///
/// Why not Dispatch: a kernel here lasts 10–500 µs, and `concurrentPerform`
/// hands each call to the global pool anew, which on Linux costs tens of µs
/// per call. Helpers here spin briefly after each job (the next kernel usually
/// follows within microseconds), then park on a condition variable so that
/// an idle process uses no CPU. The caller takes parts itself too, so a parked
/// helper that wakes late only means the caller runs more parts, never a wait.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// One word holds the job's generation, its part count and the next unclaimed
    /// part, so that a helper still finishing an old job can never claim a part
    /// of the next one.
    private let ticket = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private let helperCount = Atomic<Int>(0)
    /// The running job's body; read only by a thread that has claimed one of its parts.
    nonisolated(unsafe) private var job: UnsafeRawPointer?
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let growLock = Mutex<Void>(())

    private static let partBits = 8, indexBits = 8
    private static let maxParts = (1 << partBits) - 1
    /// How long a helper polls before it parks: longer than the usual gap between two kernels.
    private static let spinNanoseconds = 100_000

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
    }

    /// Makes sure `count − 1` helpers exist (the caller is the last worker). Never shrinks:
    /// extra helpers simply find no part to claim.
    func ensureWorkers(_ count: Int) {
        growLock.withLock { _ in
            while helperCount.load(ordering: .relaxed) < Swift.min(count, Self.maxParts) - 1 {
                var thread = pthread_t()
                let context = Unmanaged.passRetained(self).toOpaque()
                let started = pthread_create(&thread, nil, { context in
                    let pool = Unmanaged<WorkerPool>.fromOpaque(context!).takeRetainedValue()
                    pool.helperLoop()
                    return nil
                }, context)
                guard started == 0 else {
                    Unmanaged<WorkerPool>.fromOpaque(context).release()
                    return
                }
                pthread_detach(thread)
                helperCount.add(1, ordering: .relaxed)
            }
        }
    }

    /// Runs `body(part)` for part in 0..<parts on the helpers and the calling thread,
    /// returning when all parts are done. Nested or concurrent calls run inline.
    func run(parts: Int, _ body: (Int) -> Void) {
        guard parts > 1, parts <= Self.maxParts, helperCount.load(ordering: .relaxed) > 0,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafePointer(to: &task) { pointer in
                job = UnsafeRawPointer(pointer)
                finished.store(0, ordering: .relaxed)
                let generation = (ticket.load(ordering: .relaxed) >> (Self.partBits + Self.indexBits)) + 1
                ticket.store(generation << (Self.partBits + Self.indexBits) | parts << Self.indexBits,
                             ordering: .sequentiallyConsistent)
                if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                    pthread_mutex_lock(mutex)
                    pthread_cond_broadcast(wake)
                    pthread_mutex_unlock(mutex)
                }
                work(generation: generation)
                while finished.load(ordering: .acquiring) < parts {}
                job = nil
            }
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims and runs parts of job `generation` until none is left.
    private func work(generation: Int) {
        var current = ticket.load(ordering: .acquiring)
        while true {
            let index = current & ((1 << Self.indexBits) - 1)
            let parts = (current >> Self.indexBits) & Self.maxParts
            guard current >> (Self.partBits + Self.indexBits) == generation, index < parts else { return }
            let (exchanged, original) = ticket.compareExchange(expected: current, desired: current + 1,
                                                               ordering: .acquiringAndReleasing)
            guard exchanged else {
                current = original
                continue
            }
            job!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
            finished.add(1, ordering: .releasing)
            current = current + 1
        }
    }

    private func helperLoop() {
        var seen = 0
        while true {
            var polls = 0
            var spinStart = monotonicNanoseconds()
            var generation = ticket.load(ordering: .acquiring) >> (Self.partBits + Self.indexBits)
            while generation == seen {
                polls &+= 1
                if polls & 1023 == 0 && monotonicNanoseconds() - spinStart > Self.spinNanoseconds {
                    park(seen: seen)
                    spinStart = monotonicNanoseconds()
                }
                generation = ticket.load(ordering: .acquiring) >> (Self.partBits + Self.indexBits)
            }
            seen = generation
            work(generation: generation)
        }
    }

    private func park(seen: Int) {
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while ticket.load(ordering: .sequentiallyConsistent) >> (Self.partBits + Self.indexBits) == seen {
            pthread_cond_wait(wake, mutex)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }
}

private func monotonicNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}
