import NetworkAddress

/// Checks of setup and teardown input that every backend makes before it changes anything.
public enum SetupValidation {
  public static let supportedProtocols: Set<String> = ["tcp", "udp", "sctp"]

  /// Validates `options` against the networks they name (already looked up by the backend).
  ///
  /// Interface names must be filled in (see ``assignDefaultInterfaceNames(_:order:)``), valid and unique; static
  /// IPs must lie in a subnet of their network, not be its gateway, and be at most one per subnet when
  /// `onePerSubnet` (CNI's host-local takes one address per range; Podman's own IPAM takes several).
  public static func validate(_ options: NetworkOptions, networks: [String: Network], onePerSubnet: Bool = true)
    throws(NetworkError)
  {
    try NameValidation.validateContainerID(options.containerID)
    guard !options.networks.isEmpty else {
      throw NetworkError(.invalidArgument, "must specify at least one network")
    }
    var interfaceOwners: [String: String] = [:]
    var seen: Set<String> = []
    for entry in options.networks {
      let (name, perNetwork) = (entry.name, entry.options)
      guard seen.insert(name).inserted else { throw NetworkError(.invalidArgument, "network \(name) is given twice") }
      guard let network = networks[name] else { throw NetworkError.networkNotFound(name) }
      guard !perNetwork.interfaceName.isEmpty else {
        throw NetworkError(.invalidArgument, "interface name on network \(name) is empty")
      }
      try NameValidation.validateInterfaceName(perNetwork.interfaceName)
      // Every namespace has lo already: the plugin would fail late, after IPAM had reserved an address.
      guard perNetwork.interfaceName != "lo" else {
        throw NetworkError(
          .invalidArgument, "interface name lo on network \(name) is the namespace's loopback: choose another name")
      }
      if let other = interfaceOwners[perNetwork.interfaceName] {
        throw NetworkError(
          .invalidArgument,
          "interface name \(perNetwork.interfaceName) is used for networks \(other) and \(name): names must be unique")
      }
      interfaceOwners[perNetwork.interfaceName] = name
      for alias in perNetwork.aliases { try NameValidation.validateDNSName(alias) }
      try validateStaticIPs(perNetwork.staticIPs, network: network, onePerSubnet: onePerSubnet)
    }
    try validatePortMappings(options.portMappings)
  }

  /// Each IP must be a usable host address of one of the network's subnets, not its gateway, and (with
  /// `onePerSubnet`) one per subnet.
  public static func validateStaticIPs(_ ips: [IPAddress], network: Network, onePerSubnet: Bool = true)
    throws(NetworkError)
  {
    var usedSubnets: Set<IPNetwork> = []
    for ip in ips {
      guard let subnet = network.subnets.first(where: { $0.subnet.contains(ip) }) else {
        let subnets = network.subnets.map(\.subnet.description).joined(separator: ", ")
        let detail = subnets.isEmpty ? "the network has no subnets" : "subnets: \(subnets)"
        throw NetworkError(
          .invalidArgument, "requested static ip \(ip) not in any subnet on network \(network.name) (\(detail))")
      }
      if ip == subnet.gateway {
        throw NetworkError(
          .invalidArgument,
          "requested static ip \(ip) is the gateway of subnet \(subnet.subnet) on network \(network.name)")
      }
      if ip == subnet.subnet.networkAddress
        || (!ip.isIPv6 && ip == subnet.subnet.broadcastAddress
          && subnet.subnet.prefixLength < 31)
      {
        throw NetworkError(
          .invalidArgument, "requested static ip \(ip) is not a host address of subnet \(subnet.subnet)")
      }
      guard usedSubnets.insert(subnet.subnet).inserted || !onePerSubnet else {
        throw NetworkError(
          .invalidArgument,
          "requested static ips on network \(network.name) include two addresses in subnet \(subnet.subnet); give at most one per subnet"
        )
      }
    }
  }

  /// Protocols are tcp, udp or sctp (a comma list allowed); ports and ranges stay within 1…65535; the same host
  /// port is not published twice for one protocol and host IP.
  public static func validatePortMappings(_ mappings: [PortMapping]) throws(NetworkError) {
    var taken: [String: Set<Int>] = [:]
    for mapping in mappings {
      let protocols = mapping.protocols
      guard !protocols.isEmpty else {
        throw NetworkError(.invalidArgument, "port mapping \(mapping.containerPort) has no protocol")
      }
      for proto in protocols where !supportedProtocols.contains(proto) {
        throw NetworkError(
          .invalidArgument, "unknown port protocol \(NameValidation.displayed(proto)): use tcp, udp or sctp")
      }
      guard mapping.containerPort != 0 else {
        throw NetworkError(.invalidArgument, "container port must not be 0")
      }
      guard mapping.hostPort != 0 else {
        throw NetworkError(.invalidArgument, "host port for container port \(mapping.containerPort) must not be 0")
      }
      let count = mapping.portCount
      for (port, role) in [(mapping.containerPort, "container"), (mapping.hostPort, "host")]
      where Int(port) + count - 1 > 65_535 {
        throw NetworkError(
          .invalidArgument, "\(role) port range \(port)-\(Int(port) + count - 1) exceeds the maximum port 65535")
      }
      if !mapping.hostIP.isEmpty && IPAddress(mapping.hostIP) == nil {
        throw NetworkError(
          .invalidArgument, "invalid host IP \(NameValidation.displayed(mapping.hostIP)) in port mapping")
      }
      for proto in protocols {
        let key = "\(proto)/\(mapping.hostIP)"
        for port in Int(mapping.hostPort)..<(Int(mapping.hostPort) + count) {
          guard taken[key, default: []].insert(port).inserted else {
            throw NetworkError(
              .invalidArgument, "host port \(port)/\(proto) is published twice")
          }
        }
      }
    }
  }

  /// `networks` in interface order (eth0, eth1, …, eth9, eth10: numbers compare as numbers), then by name: the
  /// order for networks that arrive without one (the keys of a JSON object).
  public static func sortedByInterface(_ networks: [NamedPerNetworkOptions]) -> [NamedPerNetworkOptions] {
    func key(_ entry: NamedPerNetworkOptions) -> (prefix: Substring, number: Int) {
      let interface = entry.options.interfaceName
      let digits = interface.reversed().prefix(while: \.isNumber).count
      return (interface.dropLast(digits), Int(interface.suffix(digits)) ?? -1)
    }
    return networks.sorted { left, right in
      let (a, b) = (key(left), key(right))
      if a.prefix != b.prefix { return a.prefix < b.prefix }
      if a.number != b.number { return a.number < b.number }
      return left.name < right.name
    }
  }

  /// Gives every network without an interface name the lowest free `ethN`, in list order.
  public static func assignDefaultInterfaceNames(_ networks: inout [NamedPerNetworkOptions]) {
    var used = Set(networks.map(\.options.interfaceName).filter { !$0.isEmpty })
    for index in networks.indices where networks[index].options.interfaceName.isEmpty {
      let interface = NameAllocator.firstFree(prefix: "eth", used: used, start: 0)
      networks[index].options.interfaceName = interface
      used.insert(interface)
    }
  }
}
