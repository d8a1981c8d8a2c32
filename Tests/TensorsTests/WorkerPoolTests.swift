import Dispatch
import Foundation
import Synchronization
import Tensors
import XCTest

/// `parallelFor` runs on a persistent pool whose helpers spin, then park. Every
/// index must run exactly once whatever the helpers are doing: busy, parked,
/// waking late, or asked again from inside a job or from another thread.
final class WorkerPoolTests: XCTestCase {
    override func tearDown() { setWorkerThreads(1) }

    /// Runs one parallelFor over `count` indices and returns how often each ran.
    static func visits(_ count: Int, cost: Int = 1 << 16) -> [Int] {
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
        hits.initialize(repeating: 0)
        defer { hits.deallocate() }
        parallelFor(count, cost: cost) { i in hits[i] += 1 }
        return Array(hits)
    }

    func testEveryIndexRunsOnceAcrossManyBackToBackJobs() {
        for workers in [2, 3] {
            setWorkerThreads(workers)
            for round in 0..<3000 {
                let count = 1 + round % 17
                XCTAssertEqual(Self.visits(count), Array(repeating: 1, count: count), "\(workers) workers, round \(round)")
            }
        }
    }

    func testJobsAfterTheHelpersParkStillComplete() {
        setWorkerThreads(2)
        for _ in 0..<20 {
            usleep(3_000)  // far beyond the helpers' spin time
            XCTAssertEqual(Self.visits(8), Array(repeating: 1, count: 8))
        }
    }

    func testNestedCallsRunInline() {
        setWorkerThreads(2)
        let outer = 6, inner = 5
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: outer * inner)
        hits.initialize(repeating: 0)
        defer { hits.deallocate() }
        parallelFor(outer, cost: 1 << 16) { i in
            parallelFor(inner, cost: 1 << 16) { j in hits[i * inner + j] += 1 }
        }
        XCTAssertEqual(Array(hits), Array(repeating: 1, count: outer * inner))
    }

    func testConcurrentCallersEachGetTheirOwnResult() {
        setWorkerThreads(2)
        let callers = 4, rounds = 500
        nonisolated(unsafe) let failures = UnsafeMutableBufferPointer<Int>.allocate(capacity: callers)
        failures.initialize(repeating: 0)
        defer { failures.deallocate() }
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for round in 0..<rounds {
                let count = 2 + (round + caller) % 9
                if WorkerPoolTests.visits(count) != Array(repeating: 1, count: count) { failures[caller] += 1 }
            }
        }
        XCTAssertEqual(Array(failures), Array(repeating: 0, count: callers))
    }

    /// `runConcurrently`'s parts really overlap with two workers (each part waits, bounded,
    /// until the other has started: run one after the other, the first would time out),
    /// and run in order on the calling thread with one.
    func testRunConcurrentlyOverlapsItsParts() {
        setWorkerThreads(2)
        let started = UnsafeMutableBufferPointer<Atomic<Bool>>.allocate(capacity: 2)
        let sawOther = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 2)
        defer { started.deallocate(); sawOther.deallocate() }
        for i in 0..<2 { (started.baseAddress! + i).initialize(to: Atomic(false)); sawOther[i] = false }
        runConcurrently(parts: 2) { part in
            started[part].store(true, ordering: .sequentiallyConsistent)
            let deadline = DispatchTime.now().uptimeNanoseconds + 2_000_000_000
            while DispatchTime.now().uptimeNanoseconds < deadline {
                if started[1 - part].load(ordering: .sequentiallyConsistent) { sawOther[part] = true; break }
            }
        }
        XCTAssertEqual(Array(sawOther), [true, true], "both parts were running at once")

        setWorkerThreads(1)
        var order: [Int] = []
        let caller = Thread.current
        runConcurrently(parts: 3) { part in
            XCTAssertTrue(Thread.current == caller)
            order.append(part)
        }
        XCTAssertEqual(order, [0, 1, 2])
    }

    func testSplitGEMMsInterleavedWithKernelsAgreeWithOneWorker() {
        var rng = RandomGenerator(seed: 3)
        let a = Tensor.normal([256, 256], using: &rng), b = Tensor.normal([256, 256], using: &rng)
        setWorkerThreads(1)
        let expected = (matmul(a, b).relu() * 2).storage
        setWorkerThreads(2)
        for _ in 0..<50 {
            let got = (matmul(a, b).relu() * 2).storage
            XCTAssertLessThan(zip(got, expected).map { abs($0 - $1) }.max()!, 1e-4)
        }
    }
}
