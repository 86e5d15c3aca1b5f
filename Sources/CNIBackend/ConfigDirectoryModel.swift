import ContainerNetworkCore
import OrderedJSON

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

/// What a scan records: the snapshot, and per file its stamp and what it yielded.
extension ConfigDirectory {
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
}
