import ContainerNetworkCore
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// aardvark-dns's configuration directory (`<netavark --config>/aardvark-dns`): one ``AardvarkNetworkFile`` per
/// network with DNS, and `aardvark.pid`, which the server writes. The same directory, lock and format as netavark
/// 1.4's, so that cnet and netavark on one run directory share one server and never lose each other's entries.
struct AardvarkConfigDirectory: Sendable {
  /// The directory aardvark-dns reads (`--config`).
  var path: String

  /// netavark's commit lock, `aardvark.lock` beside the directory (`<config>/../aardvark.lock`), taken with flock(2)
  /// as netavark's fs2 crate does, so that the two exclude each other.
  var lockPath: String { "\(parent)/aardvark.lock" }

  /// The file aardvark-dns writes its pid to once it runs, and removes when it stops for lack of networks.
  var pidPath: String { "\(path)/aardvark.pid" }

  /// Where new files are written before they are renamed in: aardvark-dns takes every file of its directory but
  /// `aardvark.pid` for a network, so a temporary file must never appear there.
  var parent: String {
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
    return String(path[..<slash])
  }

  /// Runs `body` holding the commit lock; waits at most `timeout` for it without blocking a Swift-concurrency thread
  /// for long.
  func withLock<T>(
    timeout: Duration = .seconds(60), _ body: () async throws(NetworkError) -> T
  ) async throws(NetworkError) -> T {
    do {
      try makeDirectories(path)
    } catch {
      throw NetworkError(.io, "cannot create the aardvark-dns directory \(path): \(error)", causes: [error])
    }
    // netavark takes it with flock (the fs2 crate), which does not see our usual OFD locks. Closing the descriptor
    // drops the lock, also when the process dies; the server never inherits it (the spawn closes every descriptor
    // above 2).
    let lock: FileLock
    do {
      lock = try await FileLock.acquire(path: lockPath, timeout: timeout, kind: .flock)
    } catch  where error.errno == ETIMEDOUT {
      throw NetworkError(.timedOut, "another process held \(lockPath) for \(timeout)", causes: [error])
    } catch {
      throw NetworkError(.io, "cannot lock \(lockPath): \(error)", causes: [error])
    }
    defer { lock.unlock() }
    return try await body()
  }

  /// Whether the network has a file (without the lock: only a hint, for skipping the lock when none can matter).
  func hasFile(network: String) -> Bool {
    access("\(path)/\(network)", F_OK) == 0
  }

  /// The network's file; nil when there is none. A file that cannot be read is an error: writing over it would
  /// drop other containers' names.
  func read(network: String) throws(NetworkError) -> AardvarkNetworkFile? {
    let file = "\(path)/\(network)"
    // Under the lock: no writer of ours comes between the check and the read.
    if access(file, F_OK) != 0 && errno == ENOENT { return nil }
    let bytes: [UInt8]
    do {
      bytes = try RegularFile.read(path: file, limit: 16 << 20)
    } catch {
      throw NetworkError(.io, "cannot read the aardvark-dns file \(file): \(error)", causes: [error])
    }
    return try AardvarkNetworkFile(parsing: String(decoding: bytes, as: UTF8.self), file: file)
  }

  /// Replaces the network's file atomically, or removes it when no container is left in it: aardvark-dns stops
  /// listening for a network without a file, and exits once no file is left.
  func write(_ file: AardvarkNetworkFile, network: String) throws(NetworkError) {
    let target = "\(path)/\(network)"
    do {
      if file.entries.isEmpty {
        if unlink(target) != 0 && errno != ENOENT {
          throw SystemCallError(call: "unlink", path: target, errno: errno)
        }
      } else {
        // No fsync: like the links it describes, the file dies with the boot (the directory is on /run).
        try AtomicFile.write(
          Array(file.text.utf8), to: target, mode: 0o644, durable: false, temporaryDirectory: parent)
      }
    } catch {
      throw NetworkError(.io, "cannot write the aardvark-dns file \(target): \(error)", causes: [error])
    }
  }

  /// The networks that have a file.
  func networks() -> [String] {
    (DirectoryEntries.names(at: path) ?? []).filter { $0 != "aardvark.pid" }.sorted()
  }
}
