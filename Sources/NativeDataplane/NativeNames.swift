import NetworkAddress

/// The names and addresses the native dataplane derives, the same in every process and after a crash, so that a
/// teardown or garbage collection finds what a setup made without reading anything back.
enum NativeNames {
  /// The host end of a container's veth: `cn` and 13 hex digits of a hash of the container and network IDs (15
  /// characters, the kernel's limit).
  static func hostInterface(containerID: String, networkID: String) -> String {
    let hash = fnv1a(Array(containerID.utf8) + [0] + Array(networkID.utf8))
    return "cn" + String(String(hash, radix: 16).prefixPadded(to: 16).suffix(13))
  }

  /// The tag on a host link that says it is ours and whose: `cnet:<network ID 12>:<container ID 12>`.
  static func alias(containerID: String, networkID: String) -> String {
    "cnet:\(networkID.prefix(12)):\(containerID.prefix(12))"
  }

  /// The prefix every alias of ours starts with, for garbage collection.
  static let aliasPrefix = "cnet:"

  /// The tag on a bridge this dataplane created: `cnet-bridge:<network ID 12>`, and `:internal` after it for an
  /// internal network, whose bridge must get its `forwarding=0` back when the host's `ip_forward` is turned on (that
  /// write sets every interface's).
  static func bridgeAlias(networkID: String, internal: Bool) -> String {
    bridgeAliasPrefix + networkID.prefix(12) + (`internal` ? internalBridgeSuffix : "")
  }

  /// The network ID (12 digits) in a bridge's tag.
  static func networkID(inBridgeAlias alias: String) -> String {
    String(alias.dropFirst(bridgeAliasPrefix.count).prefix { $0 != ":" })
  }

  static let internalBridgeSuffix = ":internal"
  static let bridgeAliasPrefix = "cnet-bridge:"

  /// A bridge's fixed MAC: locally administered, unicast, from a hash of its name (so every process that creates it
  /// in a race gives it the same one).
  static func bridgeMAC(name: String) -> MACAddress {
    let hash = fnv1a(Array(name.utf8))
    return MACAddress(bytes: [0x02] + (0..<5).map { UInt8(truncatingIfNeeded: hash >> (8 * $0)) })!
  }

  /// A random locally administered unicast MAC, chosen here so that the status needs no read-back.
  static func randomMAC() -> MACAddress {
    MACAddress.randomLocallyAdministered()
  }

  /// FNV-1a, 64 bits: names only need to be stable and well spread, not secret.
  static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
  }
}

extension String {
  fileprivate func prefixPadded(to length: Int) -> String {
    count >= length ? self : String(repeating: "0", count: length - count) + self
  }
}
