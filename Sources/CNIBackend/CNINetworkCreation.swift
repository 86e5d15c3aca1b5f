import ContainerNetworkCore
import NetworkAddress
import NetworkNamespace

/// Turns a requested network into a complete one that the CNI backend can write, by Podman's rules.
struct CNINetworkCreation {
  static let drivers = ["bridge", "macvlan", "ipvlan"]
  static let macvlanModes: Set<String> = ["bridge", "private", "vepa", "passthru"]
  static let ipvlanModes: Set<String> = ["l2", "l3", "l3s"]

  /// Networks already defined (including the default one).
  var existing: [Network]
  /// Links and addresses of the host namespace.
  var host: HostInterfaces
  var dnsPluginAvailable: Bool
  var pools: [SubnetPool]
  var warn: (String) -> Void

  /// The completed network; throws before anything is written.
  func complete(_ request: Network) throws(NetworkError) -> Network {
    var network = request
    try NetworkCreationRules.chooseName(&network, existing: existing, prefix: "cni-podman", hostLinks: host.names)
    network.id = NetworkID.of(name: network.name)
    if network.driver.isEmpty { network.driver = "bridge" }
    guard Self.drivers.contains(network.driver) else {
      throw NetworkError(.invalidArgument, "unsupported driver \(NameValidation.displayed(network.driver))")
    }
    try applyOptions(&network)
    try RouteValidation.validate(network.routes)
    // host-local's routes are unicast only: the CNI format has no way to say blackhole and the rest.
    if let route = network.routes.first(where: { $0.routeType != .unicast }) {
      throw NetworkError(
        .notSupported,
        "\(route.routeType.rawValue) routes are not supported by the cni backend; use the netavark backend")
    }
    if !network.networkDNSServers.isEmpty {
      // Podman's own text (libnetwork/cni/config.go), with the way out.
      throw NetworkError(
        .invalidArgument,
        "NetworkDNSServers cannot be configured for backend CNI: invalid argument (use the netavark backend)")
    }
    try chooseIPAM(&network)
    try chooseInterface(&network)
    try NetworkCreationRules.planSubnets(&network, existing: existing, hostSubnets: host.subnets, pools: pools)

    if network.internal && network.dnsEnabled {
      warn("dnsname and internal networks are incompatible. dnsname plugin not configured for network \(network.name)")
      network.dnsEnabled = false
    }
    if network.dnsEnabled && network.driver != "bridge" {
      network.dnsEnabled = false
    }
    if network.dnsEnabled && !dnsPluginAvailable {
      warn("dnsname plugin unavailable: DNS is turned off for network \(network.name)")
      network.dnsEnabled = false
    }
    network.created = .now()
    return network
  }

  /// Checks and normalises `options`, moving Docker's option names to ours.
  private func applyOptions(_ network: inout Network) throws(NetworkError) {
    var options: [String: String] = [:]
    for key in network.options.keys.sorted() {
      let value = network.options[key]!
      switch (key, network.driver) {
      case ("mtu", _), ("com.docker.network.driver.mtu", _):
        options["mtu"] = try NetworkCreationRules.mtu(value)
      case ("vlan", "bridge"):
        options["vlan"] = try NetworkCreationRules.vlan(value)
      case ("isolate", "bridge"):
        if try NetworkCreationRules.goBool(value) { options["isolate"] = "true" }
      case ("com.docker.network.bridge.name", "bridge"):
        network.networkInterface = value
      case ("mode", "macvlan"), ("mode", "ipvlan"):
        let modes = network.driver == "macvlan" ? Self.macvlanModes : Self.ipvlanModes
        guard modes.contains(value) else {
          throw NetworkError(.invalidArgument, "unknown \(network.driver) mode \(NetworkCreationRules.goQuoted(value))")
        }
        options["mode"] = value
      case ("parent", "macvlan"), ("parent", "ipvlan"):
        network.networkInterface = value
      default:
        throw NetworkError(.invalidArgument, "unsupported network option \(NameValidation.displayed(key))")
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
    case "":
      // Podman's defaults: a macvlan/ipvlan network without subnets asks the LAN's DHCP server.
      let dhcp = network.driver != "bridge" && network.subnets.isEmpty
      network.ipamOptions = ["driver": dhcp ? "dhcp" : "host-local"]
    case "host-local":
      network.ipamOptions = ["driver": "host-local"]
    case "dhcp", "none":
      guard network.subnets.isEmpty else {
        throw NetworkError(.invalidArgument, "\(requested) ipam driver is set but subnets are given")
      }
      if requested == "dhcp" && network.driver == "bridge" && network.internal {
        throw NetworkError(.invalidArgument, "dhcp ipam driver cannot be used with an internal network")
      }
      network.ipamOptions = ["driver": requested]
    default:
      throw NetworkError(
        .invalidArgument, "unsupported ipam driver \(NetworkCreationRules.goQuoted(requested))"
      )
    }
  }

  private func chooseInterface(_ network: inout Network) throws(NetworkError) {
    try NetworkCreationRules.chooseInterface(
      &network, existing: existing, hostLinks: host.names, bridgePrefix: "cni-podman")
  }

}
