#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Whole-file reads with the checks every store needs: a regular file only (no device, FIFO or directory), at most a
/// size limit, and, when the caller opened it with `O_NOFOLLOW`, no symbolic link. The stat of the same descriptor
/// comes back with the bytes, so that a cache can tell later whether the file changed.
public enum RegularFile {
  /// Why a file could not be read, in words for a one-line error or warning.
  public struct ReadFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(description: String) { self.description = description }
  }

  /// Reads the file open at `fd` (the -1 of a failed open reports its errno) and closes it.
  public static func read(_ fd: Int32, limit: Int) throws(ReadFailure) -> (bytes: [UInt8], info: stat) {
    if fd < 0 {
      throw ReadFailure(description: errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw ReadFailure(description: String(cString: strerror(errno))) }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw ReadFailure(description: "not a regular file") }
    guard Int(info.st_size) <= limit else {
      throw ReadFailure(description: "file is larger than \(limit / 1024) KiB")
    }
    var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
      if count < 0 {
        if errno == EINTR { continue }
        throw ReadFailure(description: String(cString: strerror(errno)))
      }
      if count == 0 { break }
      offset += count
    }
    return (offset == bytes.count ? bytes : Array(bytes[0..<offset]), info)
  }

  /// Reads the file at `path`; with `followLinks` false a symbolic link is refused.
  public static func read(path: String, limit: Int, followLinks: Bool = true) throws(ReadFailure) -> [UInt8] {
    try read(open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW)), limit: limit).bytes
  }
}
