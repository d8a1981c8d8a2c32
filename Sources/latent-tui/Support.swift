import ArgumentParser
import Foundation
import Tensors

/// Writes one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A training run stopped because its loss diverged (exit code 3).
struct DivergedError: Error, CustomStringConvertible {
    let description: String
}

/// The user pressed Ctrl-C; state was saved (exit code 130).
struct InterruptedError: Error, CustomStringConvertible {
    let description: String
}

/// Runs a command body and maps errors to DESIGN.md's exit codes with a
/// one-line message: 2 for input the user can fix, 3 for divergence, 130
/// after Ctrl-C, 1 for anything else. Never a stack trace.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as InputError {
        printError("error: \(error.description)")
        throw ExitCode(2)
    } catch let error as DivergedError {
        printError("error: \(error.description)")
        throw ExitCode(3)
    } catch let error as InterruptedError {
        printError(error.description)
        throw ExitCode(130)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

/// Progress for long work: a line rewritten in place with rate and ETA on a
/// terminal, plain periodic lines otherwise (pipes, CI, `TERM=dumb`).
final class ProgressLine {
    let total: Int
    let label: String
    let interactive: Bool
    let start = Date()
    /// Work done before this line started (a resumed run): not part of the rate.
    let initial: Int
    private var lastPrint = Date.distantPast
    private let plainInterval: TimeInterval

    init(total: Int, label: String, initial: Int = 0, plainInterval: TimeInterval = 10) {
        self.total = max(total, 1)
        self.label = label
        self.initial = initial
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        interactive = isatty(STDERR_FILENO) == 1 && term != "dumb" && !term.isEmpty
        self.plainInterval = plainInterval
    }

    /// Reports `done` of `total` with extra figures (losses and the like).
    func update(_ done: Int, _ figures: String = "", force: Bool = false) {
        let now = Date()
        let minimumGap = interactive ? 0.1 : plainInterval
        guard force || done == total || now.timeIntervalSince(lastPrint) >= minimumGap else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(max(done - initial, 0)) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "%@ %d/%d  %.2f it/s  ETA %@  %@", label, done, total, rate,
                          Self.duration(eta), figures)
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line + (done == total ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Options shared by commands that run networks.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for GEMMs and the other kernels (default: all cores).")
    var threads: Int?

    func apply() {
        keepFreedMemoryForReuse()
        setThreads(threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// A seed taken from the clock when the user gives none (always recorded or shown beside the output).
func clockSeed() -> UInt64 {
    UInt64(Date().timeIntervalSince1970 * 1000) & 0xFFFF_FFFF
}

/// `--seed S | --z F.npy [--row i]`: where a walk's z0 comes from (browse, export).
struct OriginOptions: ParsableArguments {
    @Option(help: "Seed of z0 (default: from the clock; shown and recorded).")
    var seed: UInt64?

    @Option(name: .customLong("z"), help: "Take z0 from this .npy file ([n, d] or [d]).")
    var zFile: String?

    @Option(help: "Row of --z to use.")
    var row = 0

    func validate() throws {
        if zFile != nil && seed != nil { throw ValidationError("give --seed or --z, not both") }
        if zFile == nil && row != 0 { throw ValidationError("--row needs --z") }
        if row < 0 { throw ValidationError("--row must be ≥ 0") }
    }
}
