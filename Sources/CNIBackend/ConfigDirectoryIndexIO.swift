import Logging
import SystemSupport

/// The glue between a scan and its ``NetworkIndex`` file: loading it for a new process, rewriting it after a scan.
extension ConfigDirectory {
  /// The index, its header checked; nil when there is none or it is not this directory's.
  func loadIndexContents() -> NetworkIndex.Contents? {
    guard let indexPath, let bytes = try? readWholeFile(indexPath, limit: NetworkIndex.maximumSize) else { return nil }
    return NetworkIndex.Contents(bytes, directory: path)
  }

  /// Writes the index atomically; a file that changed too recently to trust its stamp is left out, to be read
  /// again next time. Failing to write (a read-only cache directory) only costs speed.
  func saveIndex(_ snapshot: Snapshot, names: [String]) {
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
}
