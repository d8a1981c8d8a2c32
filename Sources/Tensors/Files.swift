#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writing a file failed (no space, no permission, missing folder, or an
/// encoder refused the data). Not an `InputError`: nothing the user handed in
/// is malformed, so the command line treats it as exit code 1.
public struct FileWriteError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        (self.path, self.message) = (path, message)
    }

    public var description: String { "\(path): \(message)" }
}

func errnoText(_ code: Int32 = errno) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

/// Whole-file reads and crash-safe writes, shared by every file format.
public enum AtomicFile {
    /// Writes `bytes` to `path` through a temporary file `.<name>.tmp-<pid>-<random>`
    /// in the same folder, flushed and then renamed over `path`, so a reader
    /// (or a crash) never sees half a file. The temporary is removed on failure.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws(FileWriteError) {
        let (folder, name) = split(path)
        guard !name.isEmpty else { throw FileWriteError(path: path, "the output path names a folder, not a file") }
        let temp = folder + "." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw FileWriteError(path: path, "cannot create a file here: \(errnoText())") }
        var failure: String?
        var offset = 0
        while offset < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                failure = "cannot write: \(errnoText())"
                break
            }
            offset += n
        }
        if failure == nil && fsync(fd) != 0 { failure = "cannot flush to disk: \(errnoText())" }
        if close(fd) != 0 && failure == nil { failure = "cannot close: \(errnoText())" }
        if failure == nil && rename(temp, path) != 0 { failure = "cannot rename the temporary file into place: \(errnoText())" }
        if let failure {
            unlink(temp)
            throw FileWriteError(path: path, failure)
        }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws(FileWriteError) {
        // withUnsafeBytes is only `rethrows`, so carry the typed error out in a Result.
        try bytes.withUnsafeBytes { raw in Result { () throws(FileWriteError) in try write(raw, to: path) } }.get()
    }

    /// Reads a whole file. Failures are `InputError(kind, file: path, …)` because
    /// the files read here are ones the user named.
    public static func read(_ path: String, kind: InputError.Kind = .unreadable) throws(InputError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InputError(kind, file: path, "cannot open: \(errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw InputError(kind, file: path, "cannot read: \(errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw InputError(kind, file: path, "not a regular file") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        var readError: Int32 = 0
        bytes.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                let n = posixRead(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    return
                }
                if n == 0 { break } // the file shrank while we read it
                offset += n
            }
        }
        guard readError == 0 else { throw InputError(kind, file: path, "cannot read: \(errnoText(readError))") }
        if offset < bytes.count { bytes.removeSubrange(offset...) }
        return bytes
    }

    /// "dir/name" → ("dir/", "name"); "name" → ("", "name").
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[...slash]), String(path[path.index(after: slash)...]))
    }
}

// `write` and `read` are shadowed by the static methods above.
@inline(__always) private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, p, n)
    #else
    Darwin.write(fd, p, n)
    #endif
}

@inline(__always) private func posixRead(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, p, n)
    #else
    Darwin.read(fd, p, n)
    #endif
}

/// Writes `bytes` atomically (temporary file in the same folder, then rename).
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    try AtomicFile.write(bytes, to: path)
}

public func writeAtomically(_ data: Data, to path: String) throws {
    try AtomicFile.write([UInt8](data), to: path)
}

/// Whether anything (file, folder, link target) exists at `path`.
public func fileExists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0
}

/// The whole content of a regular file, read in one go. Errors are `.unreadable`.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    try AtomicFile.read(path, kind: .unreadable)
}
