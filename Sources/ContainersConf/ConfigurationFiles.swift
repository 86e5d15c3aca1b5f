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
    // Read straight into a buffer of the file's size (one more byte shows the end in the same call): every command
    // reads Podman's 24 KB file, and a zero-filled chunk plus a copy cost fresh pages each time.
    var info = stat()
    var capacity = fstat(fd, &info) == 0 ? max(Int(info.st_size) + 1, 4096) : 64 << 10
    var bytes: [UInt8] = []
    while true {
      if bytes.count == capacity { capacity *= 2 }
      let filled = bytes.count
      var failure: Int32 = 0
      var ended = false
      bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
        count = filled
        if filled > 0 { _ = buffer.initialize(fromContentsOf: bytes) }
        while count < capacity {
          let got = read(fd, buffer.baseAddress! + count, capacity - count)
          if got == 0 {
            ended = true
            return
          }
          if got < 0 {
            if errno == EINTR { continue }
            failure = errno
            return
          }
          count += got
        }
      }
      if failure != 0 { throw Self.failure(path, "cannot read", failure) }
      if bytes.count > maximumSize {
        throw ContainersConfError(file: path, message: "larger than \(maximumSize >> 20) MiB")
      }
      if ended { return bytes }
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
