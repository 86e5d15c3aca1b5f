import ContainerNetworkCore
import OrderedJSON
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Raw reads: one config file read and parsed, a whole file read with a size limit, symlinks and devices refused.
extension ConfigDirectory {
  /// Files larger than this are not configuration; reading them would only cost memory.
  static let maximumFileSize: Int64 = 1 << 20

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

  func readFile(name: String, directoryFD: Int32) -> (FileResult, FileStamp) {
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
  func readWholeFile(_ path: String, limit: Int, followLinks: Bool = true) throws -> [UInt8] {
    try RegularFile.read(path: path, limit: limit, followLinks: followLinks)
  }

  /// Reads the file open at `fd` (a failed open's -1 reports its errno), closes it, and notes its stamp.
  private static func readRegularFile(_ fd: Int32, limit: Int, stamp: inout FileStamp) throws -> [UInt8] {
    let (bytes, info) = try RegularFile.read(fd, limit: limit)
    stamp = FileStamp(info)
    return bytes
  }
}
