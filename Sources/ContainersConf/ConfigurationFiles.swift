#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The file-system side of loading: reading one file whole and listing a drop-in directory, with the errno cases
/// Podman treats as "not there" told apart from real failures.
enum ConfigurationFiles {
  /// Far beyond any real containers.conf (Podman's own, every comment included, is about 40 KiB); the cap keeps a
  /// path such as /dev/zero from eating memory.
  static let maximumSize = 16 << 20

  /// The bytes of `path`, or nil when it does not exist.
  ///
  /// - Throws: when it exists but cannot be opened or read (permissions, a directory, an I/O error), or is larger
  ///   than ``maximumSize``.
  static func contents(of path: String) throws(ContainersConfError) -> [UInt8]? {
    var fd: Int32
    repeat {
      fd = open(path, O_RDONLY | O_CLOEXEC)
    } while fd < 0 && errno == EINTR
    if fd < 0 {
      let code = errno
      if code == ENOENT { return nil }
      throw failure(path, "cannot open", code)
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count == 0 { return bytes }
      if count < 0 {
        let code = errno
        if code == EINTR { continue }
        throw failure(path, "cannot read", code)
      }
      bytes += chunk[..<count]
      if bytes.count > maximumSize {
        throw ContainersConfError(file: path, message: "larger than \(maximumSize >> 20) MiB")
      }
    }
  }

  /// The `*.conf` entries of `directory` that are not directories, as full paths in byte order of their names
  /// (Go's `os.ReadDir` order, which Podman uses); empty when the directory does not exist.
  ///
  /// As in Podman, subdirectories are not entered and a symbolic link counts as a file even when it points to a
  /// directory, so reading it fails later.
  static func dropIns(in directory: String) throws(ContainersConfError) -> [String] {
    guard let stream = opendir(directory) else {
      let code = errno
      if code == ENOENT { return [] }
      throw failure(directory, "cannot list directory", code)
    }
    defer { closedir(stream) }
    var names: [String] = []
    while true {
      errno = 0
      guard let entry = readdir(stream) else {
        let code = errno
        if code != 0 { throw failure(directory, "cannot list directory", code) }
        break
      }
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard name.hasSuffix(".conf"), !isDirectory(entry.pointee.d_type, "\(directory)/\(name)") else { continue }
      names.append(name)
    }
    names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    return names.map { "\(directory)/\($0)" }
  }

  /// Whether a directory entry is a directory itself, not following symbolic links; file systems that leave the
  /// type out of directory entries need an lstat.
  private static func isDirectory(_ type: UInt8, _ path: String) -> Bool {
    if type != UInt8(DT_UNKNOWN) { return type == UInt8(DT_DIR) }
    var status = stat()
    guard lstat(path, &status) == 0 else { return false }
    return status.st_mode & S_IFMT == S_IFDIR
  }

  private static func failure(_ path: String, _ action: String, _ code: Int32) -> ContainersConfError {
    ContainersConfError(file: path, message: "\(action): \(String(cString: strerror(code)))")
  }
}
