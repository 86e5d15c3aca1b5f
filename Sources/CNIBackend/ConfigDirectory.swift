import ContainerNetworkCore
import Logging
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The networks of one config directory, read only when needed and again only when the directory changed.
///
/// Reading never executes a plugin. A broken or foreign file is skipped with one warning naming the file and the
/// reason; the other networks are still listed.
struct ConfigDirectory: Sendable {
  let path: String
  /// Where the ``NetworkIndex`` of this directory is kept; nil: every new process reads every file.
  let indexPath: String?
  let logger: Logger

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

  /// The `.conflist` names in the directory, sorted as libcni sorts them.
  private func conflistNames(_ directoryFD: Int32) -> [String] {
    let names = (DirectoryEntries.names(ofDescriptor: directoryFD) ?? []).filter {
      $0.hasSuffix(".conflist") && !$0.hasPrefix(".")
    }
    // Byte order, as Go sorts strings. The bytes are taken once per name: comparing String.UTF8View directly
    // is several times slower.
    return names.map { (Array($0.utf8), $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
  }
}
