import CNIRuntime
import ContainerNetworkCore
import Dispatch
import FileSystemSupport
import FoundationEssentials
import Logging
import OrderedJSON
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// One network read from a `.conflist` file.
///
/// A class: scans, snapshots and lookups pass each network around several times, and a copy of a `Network` value
/// retains a dozen strings, arrays and dictionaries (a tenth of a cold `cnet ls` went to those copies).
final class StoredNetwork: Sendable {
  let network: Network
  /// The file it came from; nil for the in-memory default network.
  let path: String?
  /// The parsed config list, handed to the CNI runtime for setup and teardown; nil when the network came from the
  /// index, which keeps no config lists, and for the default network, which has no file
  /// (``ConfigDirectory/configList(of:)`` makes it then).
  let configList: JSONValue?

  init(network: Network, path: String?, configList: JSONValue?) {
    self.network = network
    self.path = path
    self.configList = configList
  }
}

/// The networks of one config directory, read only when needed and again only when the directory changed.
///
/// Reading never executes a plugin. A broken or foreign file is skipped with one warning naming the file and the
/// reason; the other networks are still listed.
struct ConfigDirectory: Sendable {
  let path: String
  /// Where the ``NetworkIndex`` of this directory is kept; nil: every new process reads every file.
  let indexPath: String?
  let logger: Logger

  /// What one scan found, in file-name order.
  struct Snapshot: Sendable {
    var networks: [StoredNetwork]
    var byName: [String: Int]
    /// The directory's modification time when scanned; nil when the directory does not exist.
    var directoryStamp: FileStamp?
    /// When the scan started: a directory changed within the same clock tick must be scanned again.
    var scanTime: timespec
    /// Per file: the stamp it had when read and what it yielded, so a rescan re-reads only changed files.
    var files: [String: (stamp: FileStamp, result: FileResult)]
  }

  enum FileResult: Sendable {
    case network(StoredNetwork)
    case skipped(String)
  }

  /// Modification and change time, size and inode: enough to notice a replaced or rewritten file, even one whose
  /// modification time was set back.
  struct FileStamp: Equatable, Sendable {
    var seconds: Int
    var nanoseconds: Int
    var changeSeconds: Int
    var changeNanoseconds: Int
    var size: Int64
    var inode: UInt64

    init(_ info: stat) {
      seconds = info.st_mtim.tv_sec
      nanoseconds = info.st_mtim.tv_nsec
      changeSeconds = info.st_ctim.tv_sec
      changeNanoseconds = info.st_ctim.tv_nsec
      size = Int64(info.st_size)
      inode = UInt64(info.st_ino)
    }

    init(seconds: Int, nanoseconds: Int, changeSeconds: Int, changeNanoseconds: Int, size: Int64, inode: UInt64) {
      self.seconds = seconds
      self.nanoseconds = nanoseconds
      self.changeSeconds = changeSeconds
      self.changeNanoseconds = changeNanoseconds
      self.size = size
      self.inode = inode
    }

    /// Whether the file changed less than `margin` seconds before `time`. The kernel stamps files with a coarse
    /// clock, so a second write within the same tick can leave every field as it was; only a stamp older than a
    /// tick is proof that the content read after it is the content it describes.
    func isRecent(before time: timespec, margin: Double = 0.05) -> Bool {
      let reference = Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
      let modified = Double(seconds) + Double(nanoseconds) / 1e9
      let changed = Double(changeSeconds) + Double(changeNanoseconds) / 1e9
      return reference - max(modified, changed) < margin
    }

    var timestamp: Timestamp { Timestamp(seconds: Int64(seconds), nanoseconds: Int32(nanoseconds)) }
  }

  /// Files larger than this are not configuration; reading them would only cost memory.
  static let maximumFileSize: Int64 = 1 << 20

  /// Whether `previous` still describes the directory.
  func isCurrent(_ previous: Snapshot) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0 else { return previous.directoryStamp == nil }
    let stamp = FileStamp(info)
    guard stamp == previous.directoryStamp else { return false }
    // A change in the same clock tick as the scan could be missed, so a recently modified directory is always
    // scanned again.
    return !stamp.isRecent(before: previous.scanTime)
  }

  /// Scans the directory, reusing what `previous` read for files that did not change; without `previous` (a new
  /// process), the index stands in for it.
  func scan(reusing previous: Snapshot?) -> Snapshot {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var snapshot = Snapshot(networks: [], byName: [:], directoryStamp: nil, scanTime: now, files: [:])
    var info = stat()
    guard stat(path, &info) == 0 else { return snapshot }
    snapshot.directoryStamp = FileStamp(info)
    // Every file is opened relative to one directory descriptor: no path walk per file.
    let directoryFD = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directoryFD >= 0 else { return snapshot }
    defer { close(directoryFD) }
    let names = conflistNames(directoryFD)
    // What an earlier scan of this process found or, in a new process, what the index says. A new process says
    // again what it skips, as every run of Podman does.
    let (known, current) = knownFilesAndStamps(names, previous: previous, directoryFD: directoryFD)
    let announceAll = previous == nil
    // Files whose stamps are unchanged keep their earlier result; only the others are read and parsed.
    var pending: [(index: Int, name: String)] = []
    var results = [FileResult?](repeating: nil, count: names.count)
    for (index, name) in names.enumerated() {
      if let old = known[name] {
        if let stamp = current[index], old.stamp == stamp {
          results[index] = old.result
          snapshot.files[name] = old
          if announceAll, case .skipped(let reason) = old.result {
            logger.warning("skipping network config \(path)/\(name): \(reason)")
          }
          continue
        }
      }
      pending.append((index, name))
    }
    let parsed = parseFiles(pending.map(\.name), directoryFD: directoryFD)
    for (offset, item) in pending.enumerated() {
      let (result, stamp) = parsed[offset]
      results[item.index] = result
      snapshot.files[item.name] = (stamp, result)
      if case .skipped(let reason) = result {
        logger.warning("skipping network config \(path)/\(item.name): \(reason)")
      }
    }
    for (index, result) in results.enumerated() {
      guard case .network(let stored)? = result else { continue }
      if let first = snapshot.byName[stored.network.name] {
        let firstFile = snapshot.networks[first].path ?? "?"
        if announceAll || previous?.files[names[index]] == nil || pending.contains(where: { $0.index == index }) {
          logger.warning(
            "skipping network config \(path)/\(names[index]): network name \(stored.network.name) is already defined by \(firstFile)"
          )
        }
        continue
      }
      snapshot.byName[stored.network.name] = snapshot.networks.count
      snapshot.networks.append(stored)
    }
    // The index follows the directory: rewritten when this scan read a file or a known file went away.
    if !pending.isEmpty || snapshot.files.count != known.count {
      saveIndex(snapshot, names: names)
    }
    return snapshot
  }

  /// What is known of the files from before (the earlier snapshot, else the index) and each file's stamp now (nil
  /// when it could not be taken, or when nothing is known to compare it with).
  ///
  /// With many files both halves are spread over the cores, each worker stating every n-th file and decoding its
  /// share of the index's entries: a cold scan of 1000 files is mostly these two.
  private func knownFilesAndStamps(_ names: [String], previous: Snapshot?, directoryFD: Int32) -> (
    known: [String: (stamp: FileStamp, result: FileResult)], stamps: [FileStamp?]
  ) {
    // A new process without an index knows nothing to compare with: every file is read, and its stamp comes from
    // the open file.
    let contents = previous == nil ? loadIndexContents() : nil
    if previous == nil && contents == nil { return ([:], Array(repeating: nil, count: names.count)) }
    let workers = names.count < 64 ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, 8)
    let stamps = ResultSlots<FileStamp?>(count: names.count)
    let decoded = ResultSlots<[NetworkIndex.Entry]?>(count: workers)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      if let contents {
        let share = contents.count * worker / workers..<contents.count * (worker + 1) / workers
        decoded.set(worker, contents.entries(share))
      }
      var position = worker
      while position < names.count {
        var info = stat()
        let found = fstatat(directoryFD, names[position], &info, AT_SYMLINK_NOFOLLOW) == 0
        stamps.set(position, found ? FileStamp(info) : nil)
        position += workers
      }
    }
    if let previous { return (previous.files, stamps.values()) }
    let parts = decoded.values()
    guard parts.allSatisfy({ $0 != nil }) else { return ([:], stamps.values()) }
    var files: [String: (stamp: FileStamp, result: FileResult)] = Dictionary(minimumCapacity: contents!.count)
    for part in parts { for entry in part! { files[entry.name] = (entry.stamp, entry.result) } }
    return (files, stamps.values())
  }

  /// The index, its header checked; nil when there is none or it is not this directory's.
  private func loadIndexContents() -> NetworkIndex.Contents? {
    guard let indexPath, let bytes = try? readWholeFile(indexPath, limit: NetworkIndex.maximumSize) else { return nil }
    return NetworkIndex.Contents(bytes, directory: path)
  }

  /// Writes the index atomically; a file that changed too recently to trust its stamp is left out, to be read
  /// again next time. Failing to write (a read-only cache directory) only costs speed.
  private func saveIndex(_ snapshot: Snapshot, names: [String]) {
    guard let indexPath else { return }
    var entries: [NetworkIndex.Entry] = []
    entries.reserveCapacity(names.count)
    for name in names {
      guard let file = snapshot.files[name], !file.stamp.isRecent(before: snapshot.scanTime) else { continue }
      entries.append((name, file.stamp, file.result))
    }
    let indexDirectory = String(indexPath[..<(indexPath.lastIndex(of: "/") ?? indexPath.startIndex)])
    do {
      try makeDirectories(indexDirectory, mode: 0o700)
      // Not synced: after a crash the index is at worst missing or stale, and both only cost a full read.
      try AtomicFile.write(NetworkIndex.encode(entries, directory: path), to: indexPath, mode: 0o600, durable: false)
      AtomicFile.removeStaleTemporaryFiles(in: indexDirectory)
    } catch {
      logger.debug("cannot write the network index \(indexPath): \(error)")
    }
  }

  /// The config list of `stored`: kept from the scan, or read from its file when the network came from the index.
  func configList(of stored: StoredNetwork) throws(NetworkError) -> JSONValue {
    if let list = stored.configList { return list }
    // The in-memory default network: its list is what `create` would write for it.
    guard let filePath = stored.path else {
      return PodmanConflist.configList(for: stored.network, dnsPluginAvailable: false)
    }
    let root: JSONValue
    do {
      root = try JSONValue.parse(try readWholeFile(filePath, limit: Int(Self.maximumFileSize), followLinks: false))
    } catch {
      throw NetworkError(.io, "cannot read network config \(filePath): \(error)", causes: [error])
    }
    // The file may have been replaced since the scan; it must still be the same network.
    guard root["name"]?.stringValue == stored.network.name else {
      throw NetworkError(.io, "network config \(filePath) changed while in use; try again")
    }
    return root
  }

  /// The `.conflist` names in the directory, sorted as libcni sorts them.
  private func conflistNames(_ directoryFD: Int32) -> [String] {
    // fdopendir takes ownership of its descriptor, so it gets a duplicate.
    let duplicate = dup(directoryFD)
    guard duplicate >= 0 else { return [] }
    guard let directory = fdopendir(duplicate) else {
      close(duplicate)
      return []
    }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name.hasSuffix(".conflist") && !name.hasPrefix(".") { names.append(name) }
    }
    // Byte order, as Go sorts strings. The bytes are taken once per name: comparing String.UTF8View directly
    // is several times slower.
    return names.map { (Array($0.utf8), $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
  }

  /// Reads and converts files, spread over the available cores when there are many.
  private func parseFiles(_ names: [String], directoryFD: Int32) -> [(FileResult, FileStamp)] {
    if names.count < 64 { return names.map { readFile(name: $0, directoryFD: directoryFD) } }
    let results = ResultSlots<(FileResult, FileStamp)>(count: names.count)
    let chunks = min(ProcessInfo.processInfo.activeProcessorCount, 8)
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
      var index = chunk
      while index < names.count {
        results.set(index, readFile(name: names[index], directoryFD: directoryFD))
        index += chunks
      }
    }
    return results.values()
  }

  private func readFile(name: String, directoryFD: Int32) -> (FileResult, FileStamp) {
    let filePath = "\(path)/\(name)"
    var stamp = FileStamp(stat())
    let bytes: [UInt8]
    do {
      bytes = try readConfigFile(name, directoryFD: directoryFD, stamp: &stamp)
    } catch {
      return (.skipped("\(error)"), stamp)
    }
    let root: JSONValue
    do {
      root = try JSONValue.parse(bytes)
    } catch {
      return (.skipped("invalid JSON: \(error)"), stamp)
    }
    do {
      let network = try PodmanConflist.network(from: root, created: stamp.timestamp)
      return (.network(StoredNetwork(network: network, path: filePath, configList: root)), stamp)
    } catch {
      return (.skipped(error.description), stamp)
    }
  }

  /// Reads a regular file inside the directory; symlinks, devices and oversized files are refused.
  private func readConfigFile(_ name: String, directoryFD: Int32, stamp: inout FileStamp) throws -> [UInt8] {
    // O_NOFOLLOW: a symlink could lead outside the config directory; we read only files that live in it.
    let fd = openat(directoryFD, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    return try Self.readRegularFile(fd, limit: Int(Self.maximumFileSize), stamp: &stamp)
  }

  /// Reads a whole regular file of at most `limit` bytes.
  private func readWholeFile(_ path: String, limit: Int, followLinks: Bool = true) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
    var stamp = FileStamp(stat())
    return try Self.readRegularFile(fd, limit: limit, stamp: &stamp)
  }

  /// Reads the file open at `fd` (a failed open's -1 reports its errno) and closes it.
  private static func readRegularFile(_ fd: Int32, limit: Int, stamp: inout FileStamp) throws -> [UInt8] {
    if fd < 0 {
      throw ReadFailure(description: errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw ReadFailure(description: String(cString: strerror(errno))) }
    stamp = FileStamp(info)
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw ReadFailure(description: "not a regular file") }
    guard Int(info.st_size) <= limit else {
      throw ReadFailure(description: "file is larger than \(limit / 1024) KiB")
    }
    var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, $0.count - offset) }
      if count < 0 {
        if errno == EINTR { continue }
        throw ReadFailure(description: String(cString: strerror(errno)))
      }
      if count == 0 { break }
      offset += count
    }
    return offset == bytes.count ? bytes : Array(bytes[0..<offset])
  }

  struct ReadFailure: Error, CustomStringConvertible {
    var description: String
  }
}

/// Result slots that parallel workers fill at distinct indexes.
private final class ResultSlots<Value: Sendable>: Sendable {
  private let storage: Mutex<[Value?]>
  init(count: Int) { storage = Mutex(Array(repeating: nil, count: count)) }
  func set(_ index: Int, _ value: Value) { storage.withLock { $0[index] = value } }
  /// Every slot; each must have been set.
  func values() -> [Value] { storage.withLock { $0.map { $0! } } }
}
