import CNcurses
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The browser's event loop.
///
/// Threads: every ncurses call happens on the thread that calls `run()`
/// (ncurses is not thread-safe); the generator runs on one serial worker
/// queue. The loop sleeps in `poll` on two descriptors, the terminal's input
/// and a pipe the worker writes a byte into when it posts a result, so a key
/// is read the moment it arrives, whatever the worker is doing, and a
/// finished frame is drawn the moment it exists. Requests carry a generation
/// number: the worker skips requests that a newer one has replaced, and the
/// loop drops results that arrive late, so held-down keys never queue up
/// behind rendering. Each change ends in one `flush` (one terminal update).
public final class BrowserApp {
    public let session: BrowserSession
    private let screen: NcursesScreen
    private let engine: BrowserEngine
    private let queue = DispatchQueue(label: "latent-tui.browser.render", qos: .userInitiated)
    private let mailbox: Mailbox
    /// Playback interval: about 8 frames a second.
    private let tickInterval: Double = 0.125
    private var nextTick: Double = 0
    private var needsDraw = false
    /// Writes handed to the worker whose status line has not come back.
    private var pendingWrites = 0

    public init(session: BrowserSession, engine: BrowserEngine, screen: NcursesScreen) throws {
        self.session = session
        self.engine = engine
        self.screen = screen
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw TerminalError(description: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        // Non-blocking: the worker must never stall on a full pipe (one
        // pending byte is enough to wake the loop), nor the loop on an empty one.
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        mailbox = Mailbox(readEnd: fds[0], writeEnd: fds[1])
        installCrashRestore()
        installResizeDoorbell(fds[1])
    }

    deinit {
        installResizeDoorbell(-1)
        mailbox.close()
    }

    /// Runs until `q`/Esc; restores the terminal before returning (also
    /// when the loop exits early). Writes still running when the user quits
    /// are finished first, so an exported folder is never left half done,
    /// and their status lines go to standard error (the screen is gone).
    public func run() {
        defer {
            screen.close()
            mailbox.latest = Int.max            // skip renders still queued
            if pendingWrites > 0 { printError("latent-tui: finishing \(pendingWrites) write(s)…") }
            queue.sync {}                      // let writes finish
            for case .status(let line) in mailbox.take() { printError(line) }
        }
        _ = session.resize(to: screen.size)
        submit(session.makeRequest())
        draw()
        while true {
            let timeout = pollTimeout()
            var fds = [pollfd(fd: screen.inputDescriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: mailbox.readEnd, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            // Input, EINTR or the doorbell (a SIGWINCH rings it too): read
            // keys; ncurses turns a pending resize into KEY_RESIZE on the
            // next read. Keys first, so results for replaced states drop.
            if ready != 0 {
                let keys = readKeys()
                if keys.quit { return }
                // The terminal went away (hang-up): nothing left to show.
                if !keys.any && fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return }
            }
            if ready > 0 && fds[1].revents != 0 {
                if !takeMessages() { return }
            }
            if session.state.playing && !session.renderPending && now() >= nextTick {
                nextTick = now() + tickInterval
                if !handle(session.send(.tick)) { return }
            }
            if needsDraw { draw() }
        }
    }

    /// Milliseconds `poll` may sleep: until the next playback tick, or
    /// until something happens.
    private func pollTimeout() -> Int32 {
        guard session.state.playing, !session.renderPending else { return -1 }
        if nextTick == 0 { nextTick = now() + tickInterval }
        return Int32(max(0, min(1000, (nextTick - now()) * 1000)).rounded(.up))
    }

    /// Reads every key that is waiting and applies it; one render request
    /// for the batch (the last state is the one to show).
    private func readKeys() -> (quit: Bool, any: Bool) {
        var request: FrameRequest?
        var (any, resized) = (false, false)
        while let key = screen.readKey(timeoutMilliseconds: 0) {
            any = true
            if key == .resize {
                if let r = session.resize(to: screen.size) { request = r }
                resized = true
            }
            let editing = session.state.input != nil
            // "Any key closes this help", unbound keys included.
            let bound = KeyMap.browser.action(for: key, editingText: editing)
            guard let action = bound ?? (session.state.showingHelp ? .toggleHelp : nil) else { continue }
            // Below the minimum size the screen shows only the resize message:
            // keys other than quit would change what the user cannot see.
            if !session.layout.fits, action != .quit, action != .resize {
                guard case .text = action else { continue }
            }
            if action == .togglePlay && !session.state.playing { nextTick = now() + tickInterval }
            let command = session.send(action)
            if case .render(let r) = command {
                request = r
            } else if !handle(command) {
                return (true, any)
            }
        }
        if let request {
            submit(request)
            // The latest request replaces any older one: draw when its
            // frames are in (one flush per change, no half-updated screen).
            needsDraw = false
        }
        // A resized terminal shows garbage until redrawn: do not wait.
        if resized { needsDraw = true }
        return (false, any)
    }

    /// Applies what the worker posted. False on quit (never, today).
    private func takeMessages() -> Bool {
        mailbox.drainPipe()
        for message in mailbox.take() {
            switch message {
            case .frames(let result):
                if session.apply(result) { needsDraw = true }
            case .status(let line):
                pendingWrites -= 1
                if !handle(session.show(line)) { return false }
            }
        }
        return true
    }

    /// Executes a session command. False when it is quit.
    private func handle(_ command: SessionCommand) -> Bool {
        switch command {
        case .none:
            break
        case .draw:
            needsDraw = true
        case .render(let request):
            submit(request)
        case .write(let job):
            pendingWrites += 1
            let (engine, mailbox) = (self.engine, self.mailbox)
            queue.async { mailbox.post(.status(engine.perform(job))) }
        case .saveLabel(let job):
            needsDraw = true
            pendingWrites += 1
            let (engine, mailbox) = (self.engine, self.mailbox)
            queue.async { mailbox.post(.status(engine.perform(job))) }
        case .quit:
            return false
        }
        return true
    }

    /// Queues a render; the worker skips it if a newer one was queued by
    /// the time it gets to it.
    private func submit(_ request: FrameRequest) {
        mailbox.latest = request.generation
        let (engine, mailbox) = (self.engine, self.mailbox)
        queue.async {
            guard mailbox.latest <= request.generation else { return }
            mailbox.post(.frames(engine.render(request)))
        }
    }

    private func draw() {
        needsDraw = false
        TUI.draw(session.model, on: screen)
        screen.flush()
    }

    private func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

/// Messages from the worker to the loop, behind a lock, with a pipe byte
/// as the doorbell.
private final class Mailbox: @unchecked Sendable {
    enum Message { case frames(FrameResult), status(String) }

    let readEnd: Int32
    private let writeEnd: Int32
    private let lock = NSLock()
    private var messages: [Message] = []
    private var latestGeneration = 0
    private var closed = false

    init(readEnd: Int32, writeEnd: Int32) { (self.readEnd, self.writeEnd) = (readEnd, writeEnd) }

    /// The newest render request's generation.
    var latest: Int {
        get { lock.withLock { latestGeneration } }
        set { lock.withLock { latestGeneration = newValue } }
    }

    func post(_ message: Message) {
        lock.withLock {
            messages.append(message)
            guard !closed else { return }
            var byte: UInt8 = 1
            _ = write(writeEnd, &byte, 1)   // EAGAIN: a byte is already waiting
        }
    }

    func take() -> [Message] {
        lock.withLock {
            defer { messages = [] }
            return messages
        }
    }

    func drainPipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }

    func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            closeDescriptor(readEnd)
            closeDescriptor(writeEnd)
        }
    }
}

private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// One line to standard error (after the screen is closed).
private func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// The doorbell's write end for the SIGWINCH handler (−1: none), and the
/// handler ncurses installed, which keeps doing its part (flagging the
/// resize for the next read).
nonisolated(unsafe) private var resizeDoorbell: Int32 = -1
nonisolated(unsafe) private var ncursesResize = sigaction()

/// Rings the loop's doorbell on SIGWINCH. The kernel may run the handler
/// on any thread (the render worker's, BLAS threads), and then the main
/// thread's `poll` is not interrupted; a byte in the pipe wakes it wherever
/// the signal landed. Only async-signal-safe work: ncurses' own handler
/// (it sets a flag) and write(2).
private func installResizeDoorbell(_ fd: Int32) {
    #if os(Linux)
    if fd < 0 {
        // Put ncurses' handler back before the descriptor closes.
        if resizeDoorbell >= 0 { sigaction(SIGWINCH, &ncursesResize, nil) }
        resizeDoorbell = -1
        return
    }
    var previous = sigaction()
    sigaction(SIGWINCH, nil, &previous)
    ncursesResize = previous
    resizeDoorbell = fd
    var action = sigaction()
    action.__sigaction_handler.sa_sigaction = { sig, info, context in
        let old = ncursesResize
        if old.sa_flags & Int32(SA_SIGINFO) != 0 {
            old.__sigaction_handler.sa_sigaction?(sig, info, context)
        } else if let handler = old.__sigaction_handler.sa_handler,
                  unsafeBitCast(handler, to: Int.self) > 1 {   // not SIG_DFL (0) or SIG_IGN (1)
            handler(sig)
        }
        var byte: UInt8 = 2
        _ = write(resizeDoorbell, &byte, 1)
    }
    action.sa_flags = Int32(SA_SIGINFO | SA_RESTART)
    sigemptyset(&action.sa_mask)
    sigaction(SIGWINCH, &action, nil)
    #endif
}

/// Restores the terminal when the process crashes (a trap, abort, bad
/// access), not only on exit and SIGINT/SIGTERM: the handler calls endwin
/// and returns with the default action reinstated, so the crash proceeds
/// as it would have (core dump, exit status) on a usable terminal.
private func installCrashRestore() {
    #if os(Linux)
    for sig in [SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in _ = endwin() }
        action.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)  // 0x80000000: imported as Int
        sigemptyset(&action.sa_mask)
        sigaction(sig, &action, nil)
    }
    #endif
}
