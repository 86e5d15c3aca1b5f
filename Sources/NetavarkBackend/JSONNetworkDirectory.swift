import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import Logging
import NetworkAddress
import OrderedJSON
import Synchronization
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Podman's directory of JSON networks (`/etc/containers/networks/<name>.json`): read, validated, written.
///
/// Like Podman's netavark backend, the directory is read again only when its modification time changed: every
/// write here is a rename into the directory, which changes it, and so is every `podman network create` or `rm`.
struct JSONNetworkDirectory: Sendable {
  let path: String
  let logger: Logger

  /// A parsed directory and the time it was parsed at.
  struct Snapshot: Sendable {
    var modified: timespec?
    var networks: [Network]
  }

  /// The directory's modification time; nil when it does not exist.
  func modificationTime() -> timespec? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mtim
  }

  func isCurrent(_ snapshot: Snapshot) -> Bool {
    let now = modificationTime()
    return now?.tv_sec == snapshot.modified?.tv_sec && now?.tv_nsec == snapshot.modified?.tv_nsec
  }

  /// Every valid network file; an invalid one is skipped with a warning that names it and the reason.
  func scan() -> Snapshot {
    let modified = modificationTime()
    guard let entries = DirectoryEntries.names(at: path) else { return Snapshot(modified: modified, networks: []) }
    let names = entries.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
    // Reading and decoding dominate `ls` with many networks; the files are independent, so every core takes a share.
    let results = Mutex([Result<Network, any Error>?](repeating: nil, count: names.count))
    let workers = names.count < 64 ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, 8)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      var index = worker
      while index < names.count {
        let name = names[index]
        let result = Result { try load("\(path)/\(name)", fileName: name) }
        results.withLock { $0[index] = result }
        index += workers
      }
    }
    var networks: [Network] = []
    for (name, result) in zip(names, results.withLock { $0 }) {
      switch result {
      case .success(let network)?: networks.append(network)
      case .failure(let error)?: logger.warning("skipping network file \(path)/\(name): \(error)")
      case nil: break
      }
    }
    return Snapshot(modified: modified, networks: networks)
  }

  /// The largest network file read; Podman's are under 2 KB.
  static let maximumFileSize = 1 << 20

  struct InvalidFile: Error, CustomStringConvertible {
    var description: String
  }

  func load(_ file: String, fileName: String) throws -> Network {
    // A symbolic link could lead outside the directory: only files that live in it are networks.
    try decode(RegularFile.read(path: file, limit: Self.maximumFileSize, followLinks: false), fileName: fileName)
  }

  /// Where a network file stands: replaced (a new inode, as every write here is a rename), rewritten or resized, it
  /// is read anew.
  struct FileIdentity: Equatable, Sendable {
    var inode: UInt64
    var seconds: Int
    var nanoseconds: Int
    var size: Int

    init(_ info: stat) {
      inode = UInt64(info.st_ino)
      seconds = info.st_mtim.tv_sec
      nanoseconds = info.st_mtim.tv_nsec
      size = Int(info.st_size)
    }
  }

  /// The file a network of this name must live in (Podman refuses any other); nil for a name that cannot be one.
  private func file(named name: String) -> String? {
    NameValidation.isPodmanName(name) ? "\(path)/\(name).json" : nil
  }

  /// Where the file of the network `name` stands now; nil when there is none.
  func identity(ofNetworkNamed name: String) -> FileIdentity? {
    var info = stat()
    guard let file = file(named: name), lstat(file, &info) == 0 else { return nil }
    return FileIdentity(info)
  }

  /// The network `name` from its own file alone, with where that file stood when read: a setup names its networks,
  /// and need not read the others. nil when the file is missing or invalid (a scan then reports why).
  func loadNetwork(named name: String) -> (network: Network, identity: FileIdentity)? {
    guard let file = file(named: name) else { return nil }
    let fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
    guard let (bytes, info) = try? RegularFile.read(fd, limit: Self.maximumFileSize),
      let network = try? decode(bytes, fileName: "\(name).json")
    else { return nil }
    return (network, FileIdentity(info))
  }

  private func decode(_ bytes: [UInt8], fileName: String) throws -> Network {
    let network: Network
    do {
      network = try JSONValueDecoder().decode(Network.self, from: bytes)
    } catch {
      throw InvalidFile(description: "malformed JSON: \(Self.describe(error))")
    }
    try Self.validate(network, fileName: fileName)
    return network
  }

  /// Podman's checks when it loads a network file (`libnetwork/netavark/config.go`, `loadNetworks`).
  static func validate(_ network: Network, fileName: String) throws {
    guard fileName == "\(network.name).json" else {
      throw InvalidFile(
        description: "the network name \(NameValidation.displayed(network.name)) does not match the file name")
    }
    try NameValidation.validateNetworkName(network.name)
    guard network.id.utf8.count == 64,
      network.id.utf8.allSatisfy({
        (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0)
      })
    else {
      throw InvalidFile(
        description: "invalid network ID \(NameValidation.displayed(network.id)): not 64 hex characters")
    }
    for subnet in network.subnets {
      if let gateway = subnet.gateway, !subnet.subnet.contains(gateway) {
        throw InvalidFile(description: "gateway \(gateway) is not in subnet \(subnet.subnet)")
      }
    }
  }

  private static func describe(_ error: any Error) -> String {
    switch error {
    case DecodingError.dataCorrupted(let context): context.debugDescription
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
      "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
    default: "\(error)"
    }
  }

  /// The file exactly as Podman writes it: Go's `json.MarshalIndent` with five spaces, and a final newline.
  static func fileContents(of network: Network) throws -> [UInt8] {
    GoJSONFormat.indented(try JSONValueEncoder().encode(network), indent: "     ") + [0x0A]
  }

  /// Writes `network` atomically as `<name>.json`.
  func write(_ network: Network) throws(NetworkError) {
    let file = "\(path)/\(network.name).json"
    do {
      let bytes = try Self.fileContents(of: network)
      guard bytes.count <= Self.maximumFileSize else {
        throw NetworkError(
          .invalidArgument,
          "network \(network.name) would be written as \(bytes.count / 1024) KiB, over the \(Self.maximumFileSize / 1024) KiB a network file may have"
        )
      }
      try AtomicFile.write(bytes, to: file, mode: 0o644)
    } catch let error as NetworkError {
      throw error
    } catch {
      throw NetworkError(.io, "cannot write \(file): \(error)", causes: [error])
    }
  }

  /// Removes `<name>.json`; a missing file is not an error.
  func remove(_ name: String) throws(NetworkError) {
    let file = "\(path)/\(name).json"
    guard unlink(file) == 0 || errno == ENOENT else {
      let code = errno
      throw NetworkError(
        .io, "cannot remove \(file): \(String(cString: strerror(code)))",
        causes: [SystemCallError(call: "unlink", path: file, errno: code)])
    }
  }
}
