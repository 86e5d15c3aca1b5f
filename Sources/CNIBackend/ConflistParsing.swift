import ContainerNetworkCore
import OrderedJSON

extension CNINetworkBackend {
  /// The network that the bytes of one `.conflist` file describe, read the way the config directory loader reads
  /// it (`created` stands in for the file's modification time). Throws a description of why the file would be
  /// skipped. Used by the fuzz target for conflist parsing; reads nothing from disk.
  public static func network(fromConflist bytes: [UInt8], created: Timestamp? = nil) throws -> Network {
    let root = try JSONValue.parse(bytes)
    return try PodmanConflist.network(from: root, created: created)
  }
}
