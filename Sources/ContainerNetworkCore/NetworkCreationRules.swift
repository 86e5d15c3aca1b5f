import NetworkAddress

/// Create-time rules that every backend applies the same way (Podman keeps them in `libnetwork/internal/util` for
/// its CNI and netavark backends alike).
public enum NetworkCreationRules {
  /// A checked `mtu` option; nil for 0, which means the kernel's default and is not written.
  public static func mtu(_ value: String) throws(NetworkError) -> String? {
    guard let mtu = Int(value), mtu >= 0 else {
      throw NetworkError(.invalidArgument, "invalid mtu \(NameValidation.displayed(value)): must be an integer >= 0")
    }
    return mtu > 0 ? String(mtu) : nil
  }

  /// A checked `vlan` option; nil for 0 (no VLAN).
  public static func vlan(_ value: String) throws(NetworkError) -> String? {
    guard let vlan = Int(value), (0...4094).contains(vlan) else {
      throw NetworkError(.invalidArgument, "invalid vlan \(NameValidation.displayed(value)): must be 0 to 4094")
    }
    return vlan > 0 ? String(vlan) : nil
  }

  /// Picks or checks the network's host interface. A bridge without a name gets the first `<bridgePrefix>N` that no
  /// network and no host link uses; a named bridge must be valid and not another network's. A macvlan or ipvlan
  /// network names its parent, which must exist on the host.
  public static func chooseInterface(
    _ network: inout Network, existing: [Network], hostLinks: Set<String>, bridgePrefix: String
  ) throws(NetworkError) {
    guard network.driver != "bridge" else {
      if network.networkInterface.isEmpty {
        let taken = Set(existing.map(\.networkInterface)).union(hostLinks)
        network.networkInterface = NameAllocator.firstFree(prefix: bridgePrefix, used: taken)
        return
      }
      try NameValidation.validateInterfaceName(network.networkInterface)
      if let other = existing.first(where: { $0.driver == "bridge" && $0.networkInterface == network.networkInterface })
      {
        throw NetworkError(
          .invalidArgument, "bridge name \(network.networkInterface) already in use by network \(other.name)")
      }
      return
    }
    guard !network.networkInterface.isEmpty else {
      throw NetworkError(.invalidArgument, "\(network.driver) network needs a parent interface (-o parent=IF)")
    }
    try NameValidation.validateInterfaceName(network.networkInterface)
    guard hostLinks.contains(network.networkInterface) else {
      throw NetworkError(.invalidArgument, "parent interface \(network.networkInterface) does not exist on the host")
    }
  }

  /// Checks that the request sets no ID, and names an unnamed network with the first free `<prefix>N`.
  public static func chooseName(_ network: inout Network, existing: [Network], prefix: String) throws(NetworkError) {
    guard network.id.isEmpty else {
      throw NetworkError(.invalidArgument, "ID can not be set for network create")
    }
    if network.name.isEmpty {
      network.name = NameAllocator.firstFree(prefix: prefix, used: Set(existing.map(\.name)))
    }
    try NameValidation.validateNetworkName(network.name)
  }

  /// Completes the subnets: automatic ones for a bridge with host-local IPAM, none overlapping another network's
  /// or, for a bridge, an address of the host (a macvlan network usually shares its parent's subnet on purpose).
  public static func planSubnets(
    _ network: inout Network, existing: [Network], hostSubnets: [IPNetwork], pools: [SubnetPool]
  ) throws(NetworkError) {
    let automatic = network.driver == "bridge" && network.ipamDriver == "host-local"
    var used = SubnetPlanning.subnets(of: existing)
    if network.driver == "bridge" { used += hostSubnets }
    try SubnetPlanning.complete(
      &network, used: used, automaticSubnets: automatic, allocator: SubnetAllocator(pools: pools))
  }

  /// A boolean option as Go's `strconv.ParseBool` reads it, which is how Podman reads them: nil for anything else.
  public static func parseBool(_ text: String) -> Bool? {
    switch text {
    case "1", "t", "T", "TRUE", "true", "True": true
    case "0", "f", "F", "FALSE", "false", "False": false
    default: nil
    }
  }
}
