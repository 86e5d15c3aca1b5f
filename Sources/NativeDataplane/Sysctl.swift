#if canImport(Glibc)
  import Glibc
#endif

/// `/proc/sys` switches: read first, written only when off (a write costs more, and needs the right to).
enum Sysctl {
  @discardableResult
  static func enable(_ path: String) throws -> Bool {
    let fd = open(path, O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { throw SysctlError(path: path, errno: errno) }
    defer { close(fd) }
    var current: UInt8 = 0
    guard read(fd, &current, 1) == 1 else { throw SysctlError(path: path, errno: errno) }
    guard current == UInt8(ascii: "0") else { return false }
    var one = UInt8(ascii: "1")
    guard pwrite(fd, &one, 1, 0) == 1 else { throw SysctlError(path: path, errno: errno) }
    return true
  }
}

struct SysctlError: Error, CustomStringConvertible {
  var path: String
  var errno: Int32
  var description: String { "\(path): \(String(cString: strerror(errno)))" }
}
