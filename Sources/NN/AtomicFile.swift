#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Tensors

/// A file system failure while writing (disk full, no permission, missing
/// folder). Kept apart from `InputError` because the bytes we were given were
/// fine; the description is one line: "path: what failed: reason".
public struct FileWriteError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        (self.path, self.message) = (path, message)
    }

    public var description: String { "\(path): \(message)" }
}

/// The text of the current `errno`, for one-line messages.
private func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// complete new one, never a half-written file (a crash or a full disk leaves
/// the target untouched): temp file in the same folder, fsync, rename.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let (folder, base) = splitPath(path)
    guard !base.isEmpty else { throw FileWriteError(path: path, "not a file name") }
    let temp = (folder.isEmpty ? "" : folder + "/")
        + ".\(base).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"

    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    guard fd >= 0 else {
        throw FileWriteError(path: path, "cannot create a file in \(folder.isEmpty ? "." : folder): \(errnoText())")
    }
    var closed = false
    var renamed = false
    defer {
        if !closed { close(fd) }
        if !renamed { unlink(temp) }
    }

    try bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileWriteError(path: path, "write failed: \(errnoText())")
            }
            done += n
        }
    }
    guard fsync(fd) == 0 else { throw FileWriteError(path: path, "fsync failed: \(errnoText())") }
    closed = true
    guard close(fd) == 0 else { throw FileWriteError(path: path, "close failed: \(errnoText())") }
    guard rename(temp, path) == 0 else {
        throw FileWriteError(path: path, "cannot rename the temporary file into place: \(errnoText())")
    }
    renamed = true
    // Make the rename itself durable; a failure here loses nothing already written.
    let dirFD = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
    if dirFD >= 0 {
        _ = fsync(dirFD)
        close(dirFD)
    }
}

/// `Data` flavour of `writeAtomically(_:to:)`.
public func writeAtomically(_ data: Data, to path: String) throws {
    try writeAtomically([UInt8](data), to: path)
}

/// Whether anything (file, folder, link target) exists at `path`.
public func fileExists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0
}

/// The whole content of a regular file, read in one go (no per-element work,
/// and one buffer that the parsers slice). Errors are `.unreadable`.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw InputError(.unreadable, file: path, "cannot open: \(errnoText())") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw InputError(.unreadable, file: path, "cannot stat: \(errnoText())") }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        throw InputError(.unreadable, file: path, "not a regular file")
    }
    let size = Int(info.st_size)
    var failure: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        count = 0
        while count < size {
            let n = read(fd, buffer.baseAddress! + count, size - count)
            if n < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            if n == 0 { break }  // the file shrank while we read it
            count += n
        }
    }
    if failure != 0 { throw InputError(.unreadable, file: path, "read failed: \(errnoText(failure))") }
    return bytes
}

/// Folder and last component of a path ("" folder for a bare name).
private func splitPath(_ path: String) -> (folder: String, base: String) {
    guard let slash = path.lastIndex(of: "/") else { return ("", path) }
    let folder = String(path[..<slash])
    return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
}
