import NetworkAddress

/// What a container engine asks for when it attaches (or detaches) a container's namespace.
public struct NetworkOptions: Hashable, Sendable, Codable {
  public var containerID: String
  public var containerName: String
  public var portMappings: [PortMapping]
  /// The networks to join, in the caller's order (which is the order of default interface names: eth0, eth1, …),
  /// each with its own options; libnetwork's `[]NamedPerNetworkOptions`. A name appears at most once.
  public var networks: [NamedPerNetworkOptions]
  /// DNS servers the container should use instead of the network's.
  public var dnsServers: [String]
  /// For a teardown: the caller deletes the network namespace right afterwards, which removes the container's
  /// interfaces with it, so a dataplane may skip deleting them (the native one then only takes its host link down).
  /// Not part of the JSON.
  public var namespaceWillBeRemoved = false

  public init(
    containerID: String, containerName: String = "", portMappings: [PortMapping] = [],
    networks: [NamedPerNetworkOptions] = [], dnsServers: [String] = []
  ) {
    self.containerID = containerID
    self.containerName = containerName
    self.portMappings = portMappings
    self.networks = networks
    self.dnsServers = dnsServers
  }

  /// The same from a literal such as `["web": PerNetworkOptions(staticIPs: [ip]), "db": PerNetworkOptions()]`,
  /// whose order is kept.
  public init(
    containerID: String, containerName: String = "", portMappings: [PortMapping] = [],
    networks: KeyValuePairs<String, PerNetworkOptions>, dnsServers: [String] = []
  ) {
    self.init(
      containerID: containerID, containerName: containerName, portMappings: portMappings,
      networks: networks.map { NamedPerNetworkOptions($0.key, $0.value) }, dnsServers: dnsServers)
  }

  /// The options on the network `name`, if the container joins it.
  public subscript(network name: String) -> PerNetworkOptions? {
    networks.first { $0.name == name }?.options
  }

  enum CodingKeys: String, CodingKey {
    case networks
    case containerID = "container_id"
    case containerName = "container_name"
    case portMappings = "port_mappings"
    case dnsServers = "dns_servers"
  }

  /// A network name as a JSON key: netavark's input keeps `networks` an object.
  struct NameKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    containerID = try c.decodeIfPresent(String.self, forKey: .containerID) ?? ""
    containerName = try c.decodeIfPresent(String.self, forKey: .containerName) ?? ""
    portMappings = try c.decodeIfPresent([PortMapping].self, forKey: .portMappings) ?? []
    networks = []
    if c.contains(.networks) {
      let object = try c.nestedContainer(keyedBy: NameKey.self, forKey: .networks)
      for key in object.allKeys {
        networks.append(NamedPerNetworkOptions(key.stringValue, try object.decode(PerNetworkOptions.self, forKey: key)))
      }
      // A JSON object has no order a decoder must keep; the interface names (always set in netavark's input) give it.
      networks = SetupValidation.sortedByInterface(networks)
    }
    dnsServers = try c.decodeIfPresent([String].self, forKey: .dnsServers) ?? []
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(containerID, forKey: .containerID)
    try c.encode(containerName, forKey: .containerName)
    if !portMappings.isEmpty { try c.encode(portMappings, forKey: .portMappings) }
    var object = c.nestedContainer(keyedBy: NameKey.self, forKey: .networks)
    for network in networks { try object.encode(network.options, forKey: NameKey(stringValue: network.name)) }
    if !dnsServers.isEmpty { try c.encode(dnsServers, forKey: .dnsServers) }
  }
}

/// One network a container joins and its options there: libnetwork's `NamedPerNetworkOptions`.
public struct NamedPerNetworkOptions: Hashable, Sendable {
  /// The network's name (or ID, which the backend resolves to the name).
  public var name: String
  public var options: PerNetworkOptions

  public init(_ name: String, _ options: PerNetworkOptions = PerNetworkOptions()) {
    self.name = name
    self.options = options
  }
}

/// A container's options on one network.
public struct PerNetworkOptions: Hashable, Sendable, Codable {
  /// Static addresses, at most one per subnet of the network.
  public var staticIPs: [IPAddress]
  /// Extra DNS names of the container on this network.
  public var aliases: [String]
  public var staticMAC: MACAddress?
  /// The interface name inside the container; empty means eth0, eth1, … in order.
  public var interfaceName: String

  public init(
    staticIPs: [IPAddress] = [], aliases: [String] = [], staticMAC: MACAddress? = nil, interfaceName: String = ""
  ) {
    self.staticIPs = staticIPs
    self.aliases = aliases
    self.staticMAC = staticMAC
    self.interfaceName = interfaceName
  }

  enum CodingKeys: String, CodingKey {
    case aliases
    case staticIPs = "static_ips"
    case staticMAC = "static_mac"
    case interfaceName = "interface_name"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    staticIPs = try c.decodeIfPresent([IPAddress].self, forKey: .staticIPs) ?? []
    aliases = try c.decodeIfPresent([String].self, forKey: .aliases) ?? []
    let mac = try c.decodeIfPresent(String.self, forKey: .staticMAC) ?? ""
    if mac.isEmpty {
      staticMAC = nil
    } else if let parsed = MACAddress(mac) {
      staticMAC = parsed
    } else {
      throw DecodingError.dataCorruptedError(
        forKey: .staticMAC, in: c, debugDescription: "invalid MAC address \(mac)")
    }
    interfaceName = try c.decodeIfPresent(String.self, forKey: .interfaceName) ?? ""
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    if !staticIPs.isEmpty { try c.encode(staticIPs, forKey: .staticIPs) }
    if !aliases.isEmpty { try c.encode(aliases, forKey: .aliases) }
    try c.encodeIfPresent(staticMAC, forKey: .staticMAC)
    try c.encode(interfaceName, forKey: .interfaceName)
  }
}

/// A published port: traffic to the host's `hostPort` goes to the container's `containerPort`.
public struct PortMapping: Hashable, Sendable, Codable {
  /// The host address to bind; empty means every address.
  public var hostIP: String
  public var containerPort: UInt16
  public var hostPort: UInt16
  /// How many consecutive ports, starting at both ports; 0 and 1 both mean one.
  public var range: UInt16
  /// `tcp`, `udp`, `sctp`, or a comma list of them.
  public var `protocol`: String

  public init(hostIP: String = "", containerPort: UInt16, hostPort: UInt16, range: UInt16 = 1, protocol: String = "tcp")
  {
    self.hostIP = hostIP
    self.containerPort = containerPort
    self.hostPort = hostPort
    self.range = range
    self.protocol = `protocol`
  }

  /// In the order of Podman's struct, which encodes its fields in declaration order.
  enum CodingKeys: String, CodingKey {
    case hostIP = "host_ip"
    case containerPort = "container_port"
    case hostPort = "host_port"
    case range, `protocol`
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    hostIP = try c.decodeIfPresent(String.self, forKey: .hostIP) ?? ""
    containerPort = try c.decode(UInt16.self, forKey: .containerPort)
    hostPort = try c.decodeIfPresent(UInt16.self, forKey: .hostPort) ?? containerPort
    range = try c.decodeIfPresent(UInt16.self, forKey: .range) ?? 1
    `protocol` = try c.decodeIfPresent(String.self, forKey: .protocol) ?? "tcp"
  }

  /// The protocols of the comma list, in order, without surrounding white space.
  public var protocols: [String] {
    `protocol`.split(separator: ",", omittingEmptySubsequences: false).map { item in
      guard let first = item.firstIndex(where: { !$0.isWhitespace }),
        let last = item.lastIndex(where: { !$0.isWhitespace })
      else { return "" }
      return String(item[first...last])
    }
  }

  /// The number of ports covered (a range of 0 counts as 1).
  public var portCount: Int { max(Int(range), 1) }
}

/// What one network attachment produced, as Podman reports it.
public struct StatusBlock: Hashable, Sendable, Codable {
  /// The interfaces inside the container, by name.
  public var interfaces: [String: NetInterface]
  public var dnsServerIPs: [IPAddress]
  public var dnsSearchDomains: [String]

  public init(
    interfaces: [String: NetInterface] = [:], dnsServerIPs: [IPAddress] = [], dnsSearchDomains: [String] = []
  ) {
    self.interfaces = interfaces
    self.dnsServerIPs = dnsServerIPs
    self.dnsSearchDomains = dnsSearchDomains
  }

  enum CodingKeys: String, CodingKey {
    case interfaces
    case dnsServerIPs = "dns_server_ips"
    case dnsSearchDomains = "dns_search_domains"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    interfaces = try c.decodeIfPresent([String: NetInterface].self, forKey: .interfaces) ?? [:]
    dnsServerIPs = try c.decodeIfPresent([IPAddress].self, forKey: .dnsServerIPs) ?? []
    dnsSearchDomains = try c.decodeIfPresent([String].self, forKey: .dnsSearchDomains) ?? []
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    if !interfaces.isEmpty { try c.encode(SortedDictionary(interfaces), forKey: .interfaces) }
    if !dnsServerIPs.isEmpty { try c.encode(dnsServerIPs, forKey: .dnsServerIPs) }
    if !dnsSearchDomains.isEmpty { try c.encode(dnsSearchDomains, forKey: .dnsSearchDomains) }
  }
}

/// One interface inside the container.
public struct NetInterface: Hashable, Sendable, Codable {
  public var subnets: [NetAddress]
  public var macAddress: MACAddress?

  public init(subnets: [NetAddress] = [], macAddress: MACAddress? = nil) {
    self.subnets = subnets
    self.macAddress = macAddress
  }

  enum CodingKeys: String, CodingKey {
    case subnets
    case macAddress = "mac_address"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    subnets = try c.decodeIfPresent([NetAddress].self, forKey: .subnets) ?? []
    let mac = try c.decodeIfPresent(String.self, forKey: .macAddress) ?? ""
    macAddress = mac.isEmpty ? nil : MACAddress(mac)
    if !mac.isEmpty && macAddress == nil {
      throw DecodingError.dataCorruptedError(
        forKey: .macAddress, in: c, debugDescription: "invalid MAC address \(mac)")
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    if !subnets.isEmpty { try c.encode(subnets, forKey: .subnets) }
    try c.encode(macAddress?.description ?? "", forKey: .macAddress)
  }
}

/// An address of an interface with its prefix (10.88.0.5/16) and the gateway of its subnet.
public struct NetAddress: Hashable, Sendable, Codable {
  public var ipnet: IPNetwork
  public var gateway: IPAddress?

  public init(ipnet: IPNetwork, gateway: IPAddress? = nil) {
    self.ipnet = ipnet
    self.gateway = gateway
  }
}
