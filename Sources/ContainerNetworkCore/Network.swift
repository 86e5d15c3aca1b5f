import NetworkAddress

/// A network as Podman describes it; the JSON is field for field what `podman network inspect` prints.
public struct Network: Hashable, Sendable, Codable {
  /// The unique name; also the file name of the network's config.
  public var name: String
  /// 64 hex digits: the SHA-256 of the name for CNI networks (see ``NetworkID``).
  public var id: String
  /// `bridge`, `macvlan` or `ipvlan` (other values come from foreign files and are listed as they are).
  public var driver: String
  /// The host interface: the bridge, or the parent of a macvlan/ipvlan network.
  public var networkInterface: String
  /// When the network was created; for CNI networks, the config file's modification time.
  public var created: Timestamp?
  public var subnets: [Subnet]
  public var routes: [Route]
  public var ipv6Enabled: Bool
  /// An internal network has no gateway, no masquerading and no default route.
  public var `internal`: Bool
  public var dnsEnabled: Bool
  public var networkDNSServers: [String]
  public var labels: [String: String]
  public var options: [String: String]
  /// IPAM settings; the key `driver` names the IPAM driver (host-local, dhcp, none).
  public var ipamOptions: [String: String]

  public init(
    name: String = "", id: String = "", driver: String = "", networkInterface: String = "",
    created: Timestamp? = nil, subnets: [Subnet] = [], routes: [Route] = [], ipv6Enabled: Bool = false,
    internal: Bool = false, dnsEnabled: Bool = false, networkDNSServers: [String] = [],
    labels: [String: String] = [:], options: [String: String] = [:], ipamOptions: [String: String] = [:]
  ) {
    self.name = name
    self.id = id
    self.driver = driver
    self.networkInterface = networkInterface
    self.created = created
    self.subnets = subnets
    self.routes = routes
    self.ipv6Enabled = ipv6Enabled
    self.internal = `internal`
    self.dnsEnabled = dnsEnabled
    self.networkDNSServers = networkDNSServers
    self.labels = labels
    self.options = options
    self.ipamOptions = ipamOptions
  }

  /// The IPAM driver named in ``ipamOptions``, if any.
  public var ipamDriver: String? { ipamOptions["driver"] }

  enum CodingKeys: String, CodingKey {
    case name, id, driver, created, subnets, routes, `internal`, labels, options
    case networkInterface = "network_interface"
    case ipv6Enabled = "ipv6_enabled"
    case dnsEnabled = "dns_enabled"
    case networkDNSServers = "network_dns_servers"
    case ipamOptions = "ipam_options"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
    id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
    driver = try c.decodeIfPresent(String.self, forKey: .driver) ?? ""
    networkInterface = try c.decodeIfPresent(String.self, forKey: .networkInterface) ?? ""
    created = try c.decodeIfPresent(Timestamp.self, forKey: .created)
    subnets = try c.decodeIfPresent([Subnet].self, forKey: .subnets) ?? []
    routes = try c.decodeIfPresent([Route].self, forKey: .routes) ?? []
    ipv6Enabled = try c.decodeIfPresent(Bool.self, forKey: .ipv6Enabled) ?? false
    `internal` = try c.decodeIfPresent(Bool.self, forKey: .internal) ?? false
    dnsEnabled = try c.decodeIfPresent(Bool.self, forKey: .dnsEnabled) ?? false
    networkDNSServers = try c.decodeIfPresent([String].self, forKey: .networkDNSServers) ?? []
    labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    options = try c.decodeIfPresent([String: String].self, forKey: .options) ?? [:]
    ipamOptions = try c.decodeIfPresent([String: String].self, forKey: .ipamOptions) ?? [:]
  }

  /// Leaves out empty optional members, as Podman's `omitempty` does; the booleans are always written.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(id, forKey: .id)
    try c.encode(driver, forKey: .driver)
    if !networkInterface.isEmpty { try c.encode(networkInterface, forKey: .networkInterface) }
    try c.encodeIfPresent(created, forKey: .created)
    if !subnets.isEmpty { try c.encode(subnets, forKey: .subnets) }
    if !routes.isEmpty { try c.encode(routes, forKey: .routes) }
    try c.encode(ipv6Enabled, forKey: .ipv6Enabled)
    try c.encode(`internal`, forKey: .internal)
    try c.encode(dnsEnabled, forKey: .dnsEnabled)
    if !networkDNSServers.isEmpty { try c.encode(networkDNSServers, forKey: .networkDNSServers) }
    if !labels.isEmpty { try c.encode(SortedDictionary(labels), forKey: .labels) }
    if !options.isEmpty { try c.encode(SortedDictionary(options), forKey: .options) }
    if !ipamOptions.isEmpty { try c.encode(SortedDictionary(ipamOptions), forKey: .ipamOptions) }
  }
}

/// One subnet of a network.
public struct Subnet: Hashable, Sendable, Codable {
  /// The subnet, always stored as its network address (10.89.0.0/24).
  public var subnet: IPNetwork
  public var gateway: IPAddress?
  /// The part of the subnet that IPAM hands out; nil means the whole subnet.
  public var leaseRange: LeaseRange?

  public init(subnet: IPNetwork, gateway: IPAddress? = nil, leaseRange: LeaseRange? = nil) {
    self.subnet = subnet
    self.gateway = gateway
    self.leaseRange = leaseRange
  }

  enum CodingKeys: String, CodingKey {
    case subnet, gateway
    case leaseRange = "lease_range"
  }
}

/// The first and last address IPAM may hand out; either end may be open.
public struct LeaseRange: Hashable, Sendable, Codable {
  public var startIP: IPAddress?
  public var endIP: IPAddress?

  public init(startIP: IPAddress? = nil, endIP: IPAddress? = nil) {
    self.startIP = startIP
    self.endIP = endIP
  }

  enum CodingKeys: String, CodingKey {
    case startIP = "start_ip"
    case endIP = "end_ip"
  }
}

/// What the kernel does with packets a route matches (Podman 5's route types).
public enum RouteType: String, Hashable, Sendable, Codable, CaseIterable {
  /// Forward through the gateway (or on the link).
  case unicast
  /// Drop silently.
  case blackhole
  /// Drop and answer "host unreachable".
  case unreachable
  /// Drop and answer "communication administratively prohibited".
  case prohibit
}

/// A static route of a network, as Podman 5 writes it: the gateway is optional (a route on the link, or one that
/// is no unicast), and `route_type` is left out for the default, unicast, so that older readers accept the file.
public struct Route: Hashable, Sendable, Codable {
  public var destination: IPNetwork
  public var gateway: IPAddress?
  public var metric: UInt32?
  public var routeType: RouteType

  public init(
    destination: IPNetwork, gateway: IPAddress? = nil, metric: UInt32? = nil, routeType: RouteType = .unicast
  ) {
    self.destination = destination
    self.gateway = gateway
    self.metric = metric
    self.routeType = routeType
  }

  enum CodingKeys: String, CodingKey {
    case destination, gateway, metric
    case routeType = "route_type"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    destination = try c.decode(IPNetwork.self, forKey: .destination)
    gateway = try c.decodeIfPresent(IPAddress.self, forKey: .gateway)
    metric = try c.decodeIfPresent(UInt32.self, forKey: .metric)
    routeType = try c.decodeIfPresent(RouteType.self, forKey: .routeType) ?? .unicast
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(destination, forKey: .destination)
    try c.encodeIfPresent(gateway, forKey: .gateway)
    try c.encodeIfPresent(metric, forKey: .metric)
    if routeType != .unicast { try c.encode(routeType, forKey: .routeType) }
  }
}
