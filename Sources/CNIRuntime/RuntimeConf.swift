import OrderedJSON

/// The per-attachment arguments of one ADD, CHECK or DEL: which container, where, and what extra arguments.
public struct RuntimeConf: Sendable {
  /// CNI_CONTAINERID.
  public var containerID: String
  /// CNI_NETNS: the path of the container's network namespace.
  public var netns: String
  /// CNI_IFNAME: the interface name inside the container.
  public var ifName: String
  /// CNI_ARGS as ordered pairs; callers that pass keys plugins may not know put `IgnoreUnknown=1` first.
  public var args: [(key: String, value: String)]
  /// Capability arguments (`portMappings`, `ips`, `mac`, …); each plugin receives those it declares.
  public var capabilityArgs: [String: JSONValue]
  /// Overrides the runtime's cache directory for this attachment.
  public var cacheDirectory: String?
  /// What tells the namespace at ``netns`` from a later one at the same path (`device:inode`); recorded in the cache
  /// entry (`cnetNetnsIdentity`, a key libcni ignores) so that `gc` can tell a dead container's attachment.
  public var netnsIdentity: String?

  public init(
    containerID: String, netns: String, ifName: String, args: [(key: String, value: String)] = [],
    capabilityArgs: [String: JSONValue] = [:], cacheDirectory: String? = nil
  ) {
    self.containerID = containerID
    self.netns = netns
    self.ifName = ifName
    self.args = args
    self.capabilityArgs = capabilityArgs
    self.cacheDirectory = cacheDirectory
  }

  /// The arguments a cached attachment was made with, for a later DEL, GC or a repeated ADD of it.
  public init(cached attachment: CachedAttachment, cacheDirectory: String? = nil) {
    self.init(
      containerID: attachment.containerID, netns: attachment.netns ?? "", ifName: attachment.ifName,
      args: attachment.cniArgs, capabilityArgs: attachment.capabilityArgs, cacheDirectory: cacheDirectory)
    netnsIdentity = attachment.netnsIdentity
  }

  /// The CNI_ARGS text: `K=V` pairs joined with `;`.
  ///
  /// Keys or values containing `=` or `;` would be split differently by the plugin, so they are refused.
  public func cniArgsString() throws(CNIError) -> String {
    for (key, value) in args {
      if key.isEmpty || key.contains("=") || key.contains(";") {
        throw CNIError(
          .invalidArguments, message: "invalid CNI_ARGS key \"\(key)\": must be non-empty without '=' or ';'")
      }
      if value.contains("=") || value.contains(";") {
        throw CNIError(
          .invalidArguments, message: "invalid CNI_ARGS value \"\(value)\" for \(key): must not contain '=' or ';'")
      }
    }
    return args.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
  }
}

/// A container's attachment to a network on one interface, to keep during GC.
public struct GCAttachment: Sendable, Hashable {
  public var containerID: String
  public var ifName: String

  public init(containerID: String, ifName: String) {
    self.containerID = containerID
    self.ifName = ifName
  }
}
