import Dispatch
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The cold-scan work spread over the cores: stating the files, decoding the index, reading and parsing the files.
extension ConfigDirectory {
  /// How many workers share the work on `count` files: the calling thread alone below 64 files, else one per core,
  /// at most eight.
  static func workerCount(forFiles count: Int) -> Int {
    count < 64 ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, 8)
  }

  /// What is known of the files from before (the earlier snapshot, else the index) and each file's stamp now (nil
  /// when it could not be taken, or when nothing is known to compare it with).
  ///
  /// With many files both halves are spread over the cores, each worker stating every n-th file and decoding its
  /// share of the index's entries: a cold scan of 1000 files is mostly these two.
  func knownFilesAndStamps(_ names: [String], previous: Snapshot?, directoryFD: Int32) -> (
    known: [String: (stamp: FileStamp, result: FileResult)], stamps: [FileStamp?]
  ) {
    // A new process without an index knows nothing to compare with: every file is read, and its stamp comes from
    // the open file.
    let contents = previous == nil ? loadIndexContents() : nil
    if previous == nil && contents == nil { return ([:], Array(repeating: nil, count: names.count)) }
    let workers = Self.workerCount(forFiles: names.count)
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

  /// Reads and converts files, spread over the available cores when there are many.
  func parseFiles(_ names: [String], directoryFD: Int32) -> [(FileResult, FileStamp)] {
    let chunks = Self.workerCount(forFiles: names.count)
    if chunks == 1 { return names.map { readFile(name: $0, directoryFD: directoryFD) } }
    let results = ResultSlots<(FileResult, FileStamp)>(count: names.count)
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
      var index = chunk
      while index < names.count {
        results.set(index, readFile(name: names[index], directoryFD: directoryFD))
        index += chunks
      }
    }
    return results.values()
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
