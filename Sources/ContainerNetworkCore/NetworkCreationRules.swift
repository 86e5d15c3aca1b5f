import NetworkAddress

/// Create-time rules that every backend applies the same way (Podman keeps them in `libnetwork/internal/util` for
/// its CNI and netavark backends alike).
public enum NetworkCreationRules {
  /// A checked `mtu` option; nil for 0, which means the kernel's default and is not written.
  /// Podman's errors are Go's (`ParseMTU`): `strconv.Atoi: parsing "abc": invalid syntax`, `mtu -1 is less than zero`.
  public static func mtu(_ value: String) throws(NetworkError) -> String? {
    let mtu = try goInteger(value)
    guard mtu >= 0 else { throw NetworkError(.invalidArgument, "mtu \(mtu) is less than zero") }
    return mtu > 0 ? String(mtu) : nil
  }

  /// A checked `vlan` option; nil for 0 (no VLAN). Podman's texts (`ParseVlan`).
  public static func vlan(_ value: String) throws(NetworkError) -> String? {
    let vlan = try goInteger(value)
    guard (0...4094).contains(vlan) else {
      throw NetworkError(.invalidArgument, "vlan ID \(vlan) must be between 0 and 4094")
    }
    return vlan > 0 ? String(vlan) : nil
  }

  /// An integer as Go's `strconv.Atoi` reads it (an optional sign, decimal digits), with its error texts.
  public static func goInteger(_ text: String) throws(NetworkError) -> Int {
    let digits = text.hasPrefix("+") || text.hasPrefix("-") ? text.dropFirst() : Substring(text)
    guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
      throw NetworkError(.invalidArgument, "strconv.Atoi: parsing \(goQuoted(text)): invalid syntax")
    }
    guard let value = Int(text) else {
      throw NetworkError(.invalidArgument, "strconv.Atoi: parsing \(goQuoted(text)): value out of range")
    }
    return value
  }

  /// A boolean as Go's `strconv.ParseBool` reads it, failing with its text.
  public static func goBool(_ text: String) throws(NetworkError) -> Bool {
    guard let value = parseBool(text) else {
      throw NetworkError(.invalidArgument, "strconv.ParseBool: parsing \(goQuoted(text)): invalid syntax")
    }
    return value
  }

  /// `text` as Go's `%q` shows it (printable ASCII as it is, the rest escaped).
  public static func goQuoted(_ text: String) -> String {
    var quoted = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": quoted += "\\\""
      case "\\": quoted += "\\\\"
      case "\n": quoted += "\\n"
      case "\t": quoted += "\\t"
      case _ where scalar.value < 0x20 || scalar.value == 0x7f:
        quoted += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
      default: quoted.unicodeScalars.append(scalar)
      }
    }
    return quoted + "\""
  }

  /// Picks or checks the network's host interface. A bridge without a name gets the first free `<bridgePrefix>N`
  /// (``freeDeviceName(prefix:existing:hostLinks:)``); a named bridge must be valid and not another network's. A
  /// macvlan or ipvlan network may name its parent, which must exist on the host; without one, the plugin takes the
  /// interface of the host's default route.
  public static func chooseInterface(
    _ network: inout Network, existing: [Network], hostLinks: Set<String>, bridgePrefix: String
  ) throws(NetworkError) {
    guard network.driver != "bridge" else {
      if network.networkInterface.isEmpty {
        network.networkInterface = freeDeviceName(prefix: bridgePrefix, existing: existing, hostLinks: hostLinks)
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
    guard !network.networkInterface.isEmpty else { return }
    try NameValidation.validateInterfaceName(network.networkInterface)
    guard hostLinks.contains(network.networkInterface) else {
      throw NetworkError(.invalidArgument, "parent interface \(network.networkInterface) does not exist")
    }
  }

  /// Checks that the request sets no ID, and names an unnamed network with the first free `<prefix>N`
  /// (``freeDeviceName(prefix:existing:hostLinks:)``), which is also its bridge's name, as in Podman.
  public static func chooseName(
    _ network: inout Network, existing: [Network], prefix: String, hostLinks: Set<String>
  ) throws(NetworkError) {
    guard network.id.isEmpty else {
      throw NetworkError(.invalidArgument, "ID can not be set for network create: invalid argument")
    }
    if network.name.isEmpty {
      network.name = freeDeviceName(prefix: prefix, existing: existing, hostLinks: hostLinks)
      if (network.driver.isEmpty || network.driver == "bridge") && network.networkInterface.isEmpty {
        network.networkInterface = network.name
      }
    }
    try NameValidation.validateNetworkName(network.name)
  }

  /// Podman's `GetFreeDeviceName`: the first `<prefix>N`, counting from 0, that is neither a network's name nor its
  /// interface, nor a link of the host.
  public static func freeDeviceName(prefix: String, existing: [Network], hostLinks: Set<String>) -> String {
    let used = Set(existing.map(\.name)).union(existing.map(\.networkInterface)).union(hostLinks)
    return NameAllocator.firstFree(prefix: prefix, used: used, start: 0)
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
