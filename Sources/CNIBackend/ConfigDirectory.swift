import CNIRuntime
import ContainerNetworkCore
import Foundation
import Logging
import OrderedJSON

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
    let names = conflistNames()
    // Files whose stamps are unchanged keep their earlier result; only the others are read and parsed.
    var pending: [(Int, String, FileStamp)] = []
    var results = [FileResult?](repeating: nil, count: names.count)
    for (index, name) in names.enumerated() {
      let filePath = "\(path)/\(name)"
      var fileInfo = stat()
      guard lstat(filePath, &fileInfo) == 0 else { continue }
      let stamp = FileStamp(fileInfo)
      if let old = previous?.files[name], old.stamp == stamp {
        results[index] = old.result
        snapshot.files[name] = old
      } else {
        pending.append((index, name, stamp))
      }
    }
    let parsed = parseFiles(pending.map { ($0.1, $0.2) })
    for (offset, item) in pending.enumerated() {
      let result = parsed[offset]
      results[item.0] = result
      snapshot.files[item.1] = (item.2, result)
      if case .skipped(let reason) = result {
        logger.warning("skipping network config \(path)/\(item.1): \(reason)")
      }
    }
    for (index, result) in results.enumerated() {
      guard case .network(let stored)? = result else { continue }
      if let first = snapshot.byName[stored.network.name] {
        let firstFile = snapshot.networks[first].path ?? "?"
        if previous?.files[names[index]] == nil || pending.contains(where: { $0.0 == index }) {
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
  private func conflistNames() -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name.hasSuffix(".conflist") && !name.hasPrefix(".") { names.append(name) }
    }
    return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  }

  /// Reads and converts files, spread over the available cores when there are many.
  private func parseFiles(_ files: [(String, FileStamp)]) -> [FileResult] {
    if files.count < 64 { return files.map { readFile(name: $0.0, stamp: $0.1) } }
    let results = ResultSlots(count: files.count)
    let chunks = min(ProcessInfo.processInfo.activeProcessorCount, 8)
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
      var index = chunk
      while index < files.count {
        results.set(index, readFile(name: files[index].0, stamp: files[index].1))
        index += chunks
      }
    }
    return results.values()
  }

  private func readFile(name: String, stamp: FileStamp) -> FileResult {
    let filePath = "\(path)/\(name)"
    let bytes: [UInt8]
    do {
      bytes = try readConfigFile(filePath)
    } catch {
      return .skipped("\(error)")
    }
    let root: JSONValue
    do {
      root = try JSONValue.parse(bytes)
    } catch {
      return .skipped("invalid JSON: \(error)")
    }
    do {
      let network = try PodmanConflist.network(from: root, created: stamp.timestamp)
      return .network(StoredNetwork(network: network, path: filePath, configList: root))
    } catch {
      return .skipped(error.description)
    }
  }

  /// Reads a regular file inside the directory; symlinks, devices and oversized files are refused.
  private func readConfigFile(_ filePath: String) throws -> [UInt8] {
    // O_NOFOLLOW: a symlink could lead outside the config directory; we read only files that live in it.
    let fd = open(filePath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    if fd < 0 {
      throw ReadFailure(description: errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw ReadFailure(description: String(cString: strerror(errno))) }
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
private final class ResultSlots: @unchecked Sendable {
  private var storage: [ConfigDirectory.FileResult?]
  private let lock = NSLock()
  init(count: Int) { storage = Array(repeating: nil, count: count) }
  func set(_ index: Int, _ value: ConfigDirectory.FileResult) {
    lock.lock()
    storage[index] = value
    lock.unlock()
  }
  func values() -> [ConfigDirectory.FileResult] { storage.map { $0! } }
}
