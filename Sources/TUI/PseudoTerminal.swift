import CNcurses
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pseudo-terminal whose output is read and thrown away on a background
/// thread: an `NcursesScreen` can run on its slave side and flush at full
/// speed, so the benchmark can time what a real terminal update costs
/// (cell conversion, colour pairs, escape sequences, the write) without a
/// terminal. Swift's Glibc module hides `openpty`; the CNcurses shim has it.
public final class PseudoTerminal {
    /// Give these to `NcursesScreen(input:output:)`.
    public let slave: Int32
    private let master: Int32
    private let drained = DispatchSemaphore(value: 0)
    private let counter = ByteCounter()

    /// Bytes the terminal side has read so far (what a screen wrote).
    public var bytesRead: Int { counter.value }

    /// Opens a `rows × cols` pseudo-terminal; nil where there are none.
    public init?(rows: Int, cols: Int) {
        var (m, s): (Int32, Int32) = (-1, -1)
        guard latent_open_pty(&m, &s, UInt16(clamping: rows), UInt16(clamping: cols)) == 0 else { return nil }
        (master, slave) = (m, s)
        let (fd, done, counter) = (m, drained, counter)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            // Ends with EIO once the slave side is closed.
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 {
                    counter.add(n)
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                break
            }
            done.signal()
        }
    }

    /// Closes the slave side (close any screen on it first) and waits for
    /// the reader to finish.
    public func close() {
        _ = closeDescriptor(slave)
        drained.wait()
        _ = closeDescriptor(master)
    }
}

private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }

/// A counter shared by the reader thread and its owner.
private final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add(_ n: Int) { lock.withLock { count += n } }
}
