import ContainerNetworkCore
import NetworkAddress
import NetworkNamespace

/// Turns a requested network into a complete one by the rules of Podman's netavark backend
/// (`libnetwork/netavark/config.go`), limited to what netavark 1.4 can set up; what it cannot is refused with
/// Podman's wording.
struct NetavarkNetworkCreation {
  static let drivers = ["bridge", "macvlan"]
  static let macvlanModes: Set<String> = ["bridge", "private", "vepa", "passthru"]

  /// Networks already defined (the default one included).
  var existing: [Network]
  var host: HostInterfaces
  var pools: [SubnetPool]
  /// The dataplane does Podman 5's options that netavark 1.4 lacks (routes, `no_default_route`, `vrf`): the native
  /// one does.
  var podman5Options = false

  func complete(_ request: Network) throws(NetworkError) -> Network {
    var network = request
    try NetworkCreationRules.chooseName(&network, existing: existing, prefix: "podman", hostLinks: host.names)
    network.id = Self.randomID()
    if network.driver.isEmpty { network.driver = "bridge" }
    guard Self.drivers.contains(network.driver) else {
      throw NetworkError(
        .invalidArgument, "unsupported driver \(NameValidation.displayed(network.driver)): invalid argument")
    }
    try applyOptions(&network)
    if !network.routes.isEmpty {
      try RouteValidation.validate(network.routes)
      if !podman5Options {
        throw NetworkError(
          .notSupported,
          "unsupported \(network.driver) network option routes: netavark 1.4 cannot add routes; use the native backend")
      }
    }
    try chooseIPAM(&network)
    try chooseInterface(&network)
    try NetworkCreationRules.planSubnets(&network, existing: existing, hostSubnets: host.subnets, pools: pools)
    // netavark serves DNS on the bridge's gateway address, so an internal network keeps a gateway if it has DNS
    // (Podman's addGateway).
    for index in network.subnets.indices
    where network.subnets[index].gateway == nil
      && (!network.internal || network.dnsEnabled)
    {
      network.subnets[index].gateway = network.subnets[index].subnet.firstHost
    }
    if network.driver == "macvlan" && network.subnets.isEmpty && network.ipamDriver == "host-local" {
      throw NetworkError(
        .invalidArgument, "macvlan driver needs at least one subnet specified, DHCP is not yet supported with netavark")
    }
    for server in network.networkDNSServers where IPAddress(server) == nil {
      throw NetworkError(.invalidArgument, "invalid DNS server \(NameValidation.displayed(server))")
    }
    if !network.networkDNSServers.isEmpty && !network.dnsEnabled {
      throw NetworkError(.invalidArgument, "cannot set NetworkDNSServers if DNS is not enabled for the network")
    }
    network.created = .now()
    return network
  }

  /// 64 random hex digits, as Podman's `stringid.GenerateRandomID`.
  static func randomID() -> String {
    var generator = SystemRandomNumberGenerator()
    let digits = Array("0123456789abcdef".utf8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(64)
    for _ in 0..<64 { bytes.append(digits[Int(generator.next() % 16)]) }
    return String(decoding: bytes, as: UTF8.self)
  }

  private func applyOptions(_ network: inout Network) throws(NetworkError) {
    var options: [String: String] = [:]
    for key in network.options.keys.sorted() {
      let value = network.options[key]!
      switch (key, network.driver) {
      case ("mtu", _), ("com.docker.network.driver.mtu", _):
        // Kept as given once checked, "0" included, as Podman writes it.
        _ = try NetworkCreationRules.mtu(value)
        options["mtu"] = value
      case ("metric", _):
        guard let metric = Int(value), metric >= 0 else {
          throw NetworkError(
            .invalidArgument, "invalid metric \(NameValidation.displayed(value)): must be an integer >= 0")
        }
        options["metric"] = String(metric)
      case ("no_default_route", _) where podman5Options:
        // netavark (Rust) reads only "true" and "false"; Podman turns Go's other spellings into those.
        options["no_default_route"] = String(try NetworkCreationRules.goBool(value))
      case ("vrf", "bridge") where podman5Options:
        guard !value.isEmpty else { throw NetworkError(.invalidArgument, "invalid vrf name") }
        options["vrf"] = value
      case ("outbound_addr4", "bridge") where podman5Options, ("outbound_addr6", "bridge") where podman5Options:
        // Podman 5's source address for masqueraded traffic of the network (SNAT instead of masquerade).
        guard let address = IPAddress(value), address.isIPv6 == (key == "outbound_addr6") else {
          throw NetworkError(
            .invalidArgument,
            "invalid \(key) \(NameValidation.displayed(value)): must be an \(key == "outbound_addr6" ? "IPv6" : "IPv4") address"
          )
        }
        options[key] = address.description
      case ("vlan", "bridge"):
        _ = try NetworkCreationRules.vlan(value)
        options["vlan"] = value
      case ("isolate", "bridge"):
        // netavark (Rust) reads only "true" and "false": Go's other spellings are written as those. Podman 4.3
        // knows no "strict" (Podman 5 does, and the native backend).
        if value == "strict" && podman5Options {
          options["isolate"] = "strict"
        } else {
          options["isolate"] = String(try NetworkCreationRules.goBool(value))
        }
      case ("com.docker.network.bridge.name", "bridge"):
        network.networkInterface = value
      case ("mode", "macvlan"):
        guard Self.macvlanModes.contains(value) else {
          throw NetworkError(.invalidArgument, "unknown macvlan mode \(NetworkCreationRules.goQuoted(value))")
        }
        options["mode"] = value
      case ("parent", "macvlan"):
        network.networkInterface = value
      default:
        throw NetworkError(
          .invalidArgument, "unsupported \(network.driver) network option \(NameValidation.displayed(key))")
      }
    }
    network.options = options
  }

  private func chooseIPAM(_ network: inout Network) throws(NetworkError) {
    let requested = network.ipamOptions["driver"] ?? ""
    for key in network.ipamOptions.keys where key != "driver" {
      throw NetworkError(.invalidArgument, "unsupported ipam option \(NameValidation.displayed(key))")
    }
    switch requested {
    case "", "host-local":
      network.ipamOptions = ["driver": "host-local"]
    case "none":
      guard network.subnets.isEmpty else {
        throw NetworkError(.invalidArgument, "none ipam driver is set but subnets are given")
      }
      network.ipamOptions = ["driver": "none"]
      network.dnsEnabled = false
    case "dhcp":
      throw NetworkError(.notSupported, "dhcp ipam driver is not yet supported with netavark")
    default:
      throw NetworkError(
        .invalidArgument, "unsupported ipam driver \(NetworkCreationRules.goQuoted(requested))")
    }
  }

  private func chooseInterface(_ network: inout Network) throws(NetworkError) {
    try NetworkCreationRules.chooseInterface(
      &network, existing: existing, hostLinks: host.names, bridgePrefix: "podman")
  }
}
