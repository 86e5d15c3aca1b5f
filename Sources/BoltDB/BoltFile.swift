#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A read-only copy of a bbolt database (go.etcd.io/bbolt), such as Podman's `ipam.db`.
///
/// Opening reads the whole file into memory and checks all of it: every page reachable from the current meta page,
/// every element offset and every nested bucket. What comes out is plain values, so later lookups cannot fail, and a
/// damaged file fails once, at open, with a ``BoltError`` instead of producing half an answer. Meant for small
/// databases (the default limit is 64 MiB); the file is never written and never kept open.
public struct BoltFile: Sendable {
  /// Files larger than this are refused rather than loaded into memory.
  public static let defaultMaximumSize = 64 << 20

  /// The file the database was read from (or the name given to ``init(bytes:path:)``), for messages.
  public let path: String
  /// The page size recorded in the database.
  public let pageSize: Int
  /// The id of the last committed write transaction, from the meta page that was used.
  public let transactionID: UInt64
  /// The top-level bucket; in bbolt every key at this level names a bucket.
  public let rootBucket: Bucket

  /// Reads and checks the database at `path`.
  ///
  /// The file is read without waiting for other processes; see the comment in the implementation for how bbolt's
  /// lock is used. A file that does not exist throws an error whose ``BoltError/isFileMissing`` is true.
  public init(path: String, maximumSize: Int = BoltFile.defaultMaximumSize) throws(BoltError) {
    let bytes = try readConsistentSnapshot(path: path, maximumSize: maximumSize)
    try self.init(bytes: bytes, path: path)
  }

  /// Checks and decodes a database already in memory; `path` only names it in errors.
  public init(bytes: [UInt8], path: String = "<memory>") throws(BoltError) {
    do {
      var decoder = try BoltDecoder(bytes: bytes)
      rootBucket = try decoder.decodeRoot()
      pageSize = decoder.meta.pageSize
      transactionID = decoder.meta.transactionID
    } catch {
      throw BoltError(path: path, kind: error)
    }
    self.path = path
  }

  /// The top-level bucket with this name.
  public func bucket(named name: [UInt8]) -> Bucket? { rootBucket.bucket(named: name) }

  /// The top-level bucket with this UTF-8 name.
  public func bucket(named name: String) -> Bucket? { rootBucket.bucket(named: Array(name.utf8)) }
}

extension BoltFile {
  /// The keys of one bucket, in bbolt's order (bytewise ascending), each holding a value or a nested bucket.
  public struct Bucket: Sendable {
    struct Entry: Sendable {
      var key: [UInt8]
      var content: Content
    }

    enum Content: Sendable {
      case value([UInt8])
      case bucket(Bucket)
    }

    /// The bucket's sequence counter (bbolt's `NextSequence`).
    public let sequence: UInt64
    let entries: [Entry]

    /// The number of keys, nested buckets included.
    public var count: Int { entries.count }

    /// Calls `body` for every key in order. For a nested bucket `value` is empty and `isBucket` true, as bbolt's
    /// `ForEach` passes a nil value for one.
    public func forEach<E: Error>(
      _ body: (_ key: [UInt8], _ value: [UInt8], _ isBucket: Bool) throws(E) -> Void
    ) throws(E) {
      for entry in entries {
        switch entry.content {
        case .value(let value): try body(entry.key, value, false)
        case .bucket: try body(entry.key, [], true)
        }
      }
    }

    /// The value stored under `key`; nil when there is none or when `key` names a nested bucket (as in bbolt).
    public func get(_ key: [UInt8]) -> [UInt8]? {
      guard let index = index(of: key), case .value(let value) = entries[index].content else { return nil }
      return value
    }

    /// The nested bucket stored under `name`.
    public func bucket(named name: [UInt8]) -> Bucket? {
      guard let index = index(of: name), case .bucket(let bucket) = entries[index].content else { return nil }
      return bucket
    }

    /// The nested bucket stored under the UTF-8 bytes of `name`.
    public func bucket(named name: String) -> Bucket? { bucket(named: Array(name.utf8)) }

    /// Binary search: the decoder has checked that keys are strictly ascending.
    private func index(of key: [UInt8]) -> Int? {
      var low = 0
      var high = entries.count
      while low < high {
        let middle = (low + high) / 2
        let candidate = entries[middle].key
        if candidate == key { return middle }
        if candidate.lexicographicallyPrecedes(key) { low = middle + 1 } else { high = middle }
      }
      return nil
    }
  }
}

/// Reads the whole file so that the copy is one committed state of the database.
///
/// Why the lock is taken this way: bbolt's writer (Podman, for every allocation and release) holds `flock(LOCK_EX)`
/// for as long as it has the database open, and readers hold `LOCK_SH`. We ask for `LOCK_SH` with `LOCK_NB` and never
/// wait: a container start must not stall behind Podman. When we get the lock no writer can be mid-commit, one read is
/// a consistent copy, and closing the descriptor right after the read drops the lock again, so a Podman asking for
/// `LOCK_EX` meanwhile waits at most one of bbolt's 50 ms lock retries. When we cannot get it (Podman is writing, or
/// the file system has no flock), we read anyway and accept a copy only when the next read is byte-identical: every
/// commit rewrites a meta page with a higher transaction id, and bbolt reuses a page only in a transaction after the
/// one that freed it, so while neither meta page changes, the pages reachable from them do not change either.
private func readConsistentSnapshot(path: String, maximumSize: Int) throws(BoltError) -> [UInt8] {
  // O_NONBLOCK so that a FIFO at the path fails the regular-file check instead of blocking the open.
  let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
  guard descriptor >= 0 else { throw BoltError(path: path, kind: .cannotOpen(errno: errno)) }
  defer { close(descriptor) }
  let locked = flock(descriptor, LOCK_SH | LOCK_NB) == 0
  var previous = try readWholeFile(descriptor, path: path, maximumSize: maximumSize)
  if locked { return previous }
  let attempts = 50
  for _ in 1..<attempts {
    usleep(2000)
    let current = try readWholeFile(descriptor, path: path, maximumSize: maximumSize)
    if current == previous { return current }
    previous = current
  }
  throw BoltError(path: path, kind: .changedWhileReading(attempts: attempts))
}

private func readWholeFile(_ descriptor: Int32, path: String, maximumSize: Int) throws(BoltError) -> [UInt8] {
  var status = stat()
  guard fstat(descriptor, &status) == 0 else { throw BoltError(path: path, kind: .cannotRead(errno: errno)) }
  guard status.st_mode & S_IFMT == S_IFREG else { throw BoltError(path: path, kind: .notRegularFile) }
  let size = Int(status.st_size)
  guard size <= maximumSize else { throw BoltError(path: path, kind: .tooLarge(size: size, limit: maximumSize)) }
  var bytes = [UInt8](repeating: 0, count: size)
  var filled = 0
  while filled < size {
    let count = bytes.withUnsafeMutableBytes { buffer in
      pread(descriptor, buffer.baseAddress! + filled, size - filled, off_t(filled))
    }
    if count < 0 {
      if errno == EINTR { continue }
      throw BoltError(path: path, kind: .cannotRead(errno: errno))
    }
    // The file shrank after fstat; what was read is what there is.
    if count == 0 { break }
    filled += count
  }
  bytes.removeLast(size - filled)
  return bytes
}
