import CNetShim

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes whole files so that a reader, or a crash, never sees half of one.
public enum AtomicFile {
  /// Prefix of the temporary files this type creates; a later cleanup can recognise its own leftovers.
  public static let temporaryPrefix = ".cnet-tmp-"

  /// Writes `bytes` to `path` with the given permission bits.
  ///
  /// The data goes to a temporary file in the same directory and is then renamed over `path`, so a reader sees the
  /// old file or the new one, never a mix. With `durable` the data and the directory are also fsynced, so the new
  /// file survives a power loss; state that dies with the machine anyway (the CNI result cache: every container's
  /// network is gone after a reboot) skips those flushes, as libcni does. On any error the temporary file is
  /// removed and `path` keeps its old content. A `temporaryDirectory` (on the same file system) keeps the temporary
  /// file out of a directory whose reader takes every file in it for one of its own (aardvark-dns).
  public static func write(
    _ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o644, durable: Bool = true,
    temporaryDirectory: String? = nil
  ) throws(SystemCallError) {
    let directory = parentDirectory(of: path)
    let fileName = path.split(separator: "/").last.map(String.init) ?? path
    var template = Array("\(temporaryDirectory ?? directory)/\(temporaryPrefix)\(fileName).XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    let temporaryPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if fd < 0 { throw SystemCallError(call: "mkstemp", path: temporaryPath, errno: errno) }
    // Held until after the rename and dropped by the kernel if we die: a temp file nobody holds is a dead
    // writer's, which removeStaleTemporaryFiles may sweep while others write in the same directory.
    _ = cnet_ofd_trylock(fd, 1)
    var success = false
    defer {
      if !success { unlink(temporaryPath) }
    }
    do {
      defer { close(fd) }
      try retryingOnInterrupt("fchmod", path: temporaryPath) { fchmod(fd, mode) }
      try writeAll(fd: fd, bytes: Array(bytes), path: temporaryPath)
      if durable { try retryingOnInterrupt("fsync", path: temporaryPath) { fsync(fd) } }
      try retryingOnInterrupt("rename", path: path) { rename(temporaryPath, path) }
    }
    success = true
    if durable { syncDirectory(directory) }
  }

  /// Writes every byte, continuing after short writes and EINTR.
  public static func writeAll(fd: Int32, bytes: [UInt8], path: String) throws(SystemCallError) {
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { buffer in
        Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
      }
      if written < 0 {
        if errno == EINTR { continue }
        throw SystemCallError(call: "write", path: path, errno: errno)
      }
      offset += written
    }
  }

  /// Writes a UTF-8 string atomically and durably; see ``write(_:to:mode:durable:)``.
  public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws(SystemCallError) {
    try write(Array(text.utf8), to: path, mode: mode)
  }

  /// Removes temporary files that killed writers left in `directory`; returns how many were removed.
  ///
  /// A writer holds a lock on its temporary file from just after creating it until after the rename, and the
  /// kernel drops the lock when the writer dies. A file nobody holds and untouched for `grace` seconds (the grace
  /// covers the instant between creating the file and locking it) is therefore a dead writer's, so sweeping is safe
  /// while other processes write in the same directory.
  @discardableResult
  public static func removeStaleTemporaryFiles(in directory: String, grace: Double = 1) -> Int {
    guard let names = DirectoryEntries.names(at: directory) else { return 0 }
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var removed = 0
    for name in names where name.hasPrefix(temporaryPrefix) {
      let path = "\(directory)/\(name)"
      let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
      guard fd >= 0 else { continue }
      defer { close(fd) }
      var info = stat()
      guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
      let age =
        Double(now.tv_sec - info.st_mtim.tv_sec) + Double(now.tv_nsec - info.st_mtim.tv_nsec) / 1_000_000_000
      guard age >= grace, cnet_ofd_trylock(fd, 1) == 0 else { continue }
      if unlink(path) == 0 { removed += 1 }
    }
    return removed
  }

  static func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
  }

  private static func syncDirectory(_ directory: String) {
    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    // Best effort: the data is already safe in the renamed file; this only hardens the rename against power loss.
    _ = fsync(fd)
    close(fd)
  }
}

/// Creates `path` and its missing parents with `mode`; an existing directory is left as it is.
public func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
  // Usually the whole path exists, or only its last part is missing: one call instead of one per component.
  if mkdir(path, mode) == 0 || errno == EEXIST { return }
  var current = path.hasPrefix("/") ? "" : "."
  for component in path.split(separator: "/") {
    current += "/\(component)"
    if mkdir(current, mode) != 0 {
      let code = errno
      if code == EEXIST { continue }
      throw SystemCallError(call: "mkdir", path: current, errno: code)
    }
  }
}
