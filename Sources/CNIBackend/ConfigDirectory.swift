import CNIRuntime
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import Logging
import OrderedJSON
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// One network read from a `.conflist` file.
struct StoredNetwork: Sendable {
  var network: Network
  /// The file it came from; nil for the in-memory default network.
  var path: String?
  /// The parsed config list, handed to the CNI runtime for setup and teardown.
  var configList: JSONValue
}

/// The networks of one config directory, read only when needed and again only when the directory changed.
///
/// Reading never executes a plugin. A broken or foreign file is skipped with one warning naming the file and the
/// reason; the other networks are still listed.
struct ConfigDirectory: Sendable {
  let path: String
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

  /// Modification time, size and inode: enough to notice a replaced or rewritten file.
  struct FileStamp: Equatable, Sendable {
    var seconds: Int
    var nanoseconds: Int
    var size: Int64
    var inode: UInt64

    init(_ info: stat) {
      seconds = info.st_mtim.tv_sec
      nanoseconds = info.st_mtim.tv_nsec
      size = Int64(info.st_size)
      inode = UInt64(info.st_ino)
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
    // The kernel stamps files with a coarse clock; a change in the same tick as the scan could be missed,
    // so a directory modified within 50 ms before the scan is always scanned again.
    let changed = Double(stamp.seconds) + Double(stamp.nanoseconds) / 1e9
    let scanned = Double(previous.scanTime.tv_sec) + Double(previous.scanTime.tv_nsec) / 1e9
    return scanned - changed > 0.05
  }

  /// Scans the directory, reusing what `previous` read for files that did not change.
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
    // Files whose stamps are unchanged keep their earlier result; only the others are read and parsed. A first
    // scan has nothing to compare with, so it skips the stat and takes each stamp from the open file.
    var pending: [(index: Int, name: String)] = []
    var results = [FileResult?](repeating: nil, count: names.count)
    for (index, name) in names.enumerated() {
      if let old = previous?.files[name] {
        var fileInfo = stat()
        if fstatat(directoryFD, name, &fileInfo, AT_SYMLINK_NOFOLLOW) == 0, old.stamp == FileStamp(fileInfo) {
          results[index] = old.result
          snapshot.files[name] = old
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
        if previous?.files[names[index]] == nil || pending.contains(where: { $0.index == index }) {
          logger.warning(
            "skipping network config \(path)/\(names[index]): network name \(stored.network.name) is already defined by \(firstFile)"
          )
        }
        continue
      }
      snapshot.byName[stored.network.name] = snapshot.networks.count
      snapshot.networks.append(stored)
    }
    return snapshot
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
    let results = ResultSlots(count: names.count)
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
    if fd < 0 {
      throw ReadFailure(description: errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw ReadFailure(description: String(cString: strerror(errno))) }
    stamp = FileStamp(info)
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw ReadFailure(description: "not a regular file") }
    guard Int64(info.st_size) <= Self.maximumFileSize else {
      throw ReadFailure(description: "file is larger than \(Self.maximumFileSize / 1024) KiB")
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
    return Array(bytes[0..<offset])
  }

  struct ReadFailure: Error, CustomStringConvertible {
    var description: String
  }
}

/// Result slots that parallel workers fill at distinct indexes.
private final class ResultSlots: Sendable {
  private let storage: Mutex<[(ConfigDirectory.FileResult, ConfigDirectory.FileStamp)?]>
  init(count: Int) { storage = Mutex(Array(repeating: nil, count: count)) }
  func set(_ index: Int, _ value: (ConfigDirectory.FileResult, ConfigDirectory.FileStamp)) {
    storage.withLock { $0[index] = value }
  }
  func values() -> [(ConfigDirectory.FileResult, ConfigDirectory.FileStamp)] { storage.withLock { $0.map { $0! } } }
}
