import ContainerNetworkCore
import OrderedJSON

/// The contract between IPAM and a dataplane: the JSON object Podman pipes into `netavark setup|teardown`.
///
/// Its networks carry the addresses IPAM allocated (`static_ips`), and `network_info` holds each network whole, so
/// that a dataplane needs nothing but this value. The answer of a setup is one ``StatusBlock`` per network name.
public struct NetavarkRequest: Hashable, Sendable, Codable {
  /// `container_id`, `container_name`, `networks`, `port_mappings`, `dns_servers`.
  public var options: NetworkOptions
  /// The full network of every name in ``NetworkOptions/networks``.
  public var networkInfo: [String: Network]

  public init(options: NetworkOptions, networkInfo: [String: Network]) {
    self.options = options
    self.networkInfo = networkInfo
  }

  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: any Decoder) throws {
    options = try NetworkOptions(from: decoder)
    let c = try decoder.container(keyedBy: Key.self)
    networkInfo = [:]
    if c.contains(Key("network_info")) {
      let info = try c.nestedContainer(keyedBy: Key.self, forKey: Key("network_info"))
      for key in info.allKeys { networkInfo[key.stringValue] = try info.decode(Network.self, forKey: key) }
    }
  }

  /// Netavark's field order, as Podman writes it: the networks in the caller's order, then their definitions.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(options.containerID, forKey: Key("container_id"))
    try c.encode(options.containerName, forKey: Key("container_name"))
    if !options.portMappings.isEmpty { try c.encode(options.portMappings, forKey: Key("port_mappings")) }
    var networks = c.nestedContainer(keyedBy: Key.self, forKey: Key("networks"))
    for network in options.networks { try networks.encode(network.options, forKey: Key(network.name)) }
    var info = c.nestedContainer(keyedBy: Key.self, forKey: Key("network_info"))
    for network in options.networks {
      if let definition = networkInfo[network.name] { try info.encode(definition, forKey: Key(network.name)) }
    }
    if !options.dnsServers.isEmpty { try c.encode(options.dnsServers, forKey: Key("dns_servers")) }
  }
}

extension NetavarkRequest {
  /// The request as Podman writes it to netavark's stdin: compact, in Podman's field order.
  public func encodedJSON() throws -> [UInt8] {
    try JSONValueEncoder().encode(self).serialized()
  }
}

/// What configures the kernel for a ``NetavarkRequest``: the real netavark program (``NetavarkProgram``), or an
/// in-process implementation. Nothing above this protocol knows which one runs.
public protocol NetavarkDataplane: Sendable {
  /// Configures the namespace at `namespacePath`; returns one status block per network name.
  func setup(namespacePath: String, request: NetavarkRequest) async throws -> [String: StatusBlock]

  /// Starts what a setup of the namespace at `namespacePath` can do before the backend has taken its lock and
  /// allocated the addresses (opening the namespace, say), so that it overlaps them; nil when there is nothing.
  func prepareSetup(namespacePath: String) -> (any NetavarkPreparation)?

  /// ``setup(namespacePath:request:)`` with what ``prepareSetup(namespacePath:)`` started for the same path.
  func setup(namespacePath: String, request: NetavarkRequest, prepared: (any NetavarkPreparation)?) async throws
    -> [String: StatusBlock]

  /// Undoes a setup of the same request.
  func teardown(namespacePath: String, request: NetavarkRequest) async throws

  /// Starts what a teardown of `containerID` on `networks` can do before the backend has taken its lock and read
  /// the container's record, so that it overlaps them; nil when there is nothing.
  func prepareTeardown(containerID: String, networks: [Network], namespaceWillBeRemoved: Bool)
    -> (any NetavarkPreparation)?

  /// ``teardown(namespacePath:request:)`` with what ``prepareTeardown(containerID:networks:namespaceWillBeRemoved:)``
  /// started.
  func teardown(namespacePath: String, request: NetavarkRequest, prepared: (any NetavarkPreparation)?) async throws

  /// Tells the network's DNS server about a changed list of upstream servers (`netavark update`).
  func updateDNSServers(network: String, servers: [String]) async throws

  /// Removes what the network left on the host once its definition is gone (`network rm`, `prune`): a dataplane
  /// that keeps a bridge between containers deletes it here.
  func removeNetwork(_ network: Network) async throws

  /// Whether it sets up Podman 5's options that netavark 1.4 lacks: routes, `no_default_route`, `vrf`.
  var doesPodman5Options: Bool { get }

  /// Whether it configures every static address of a network, several in one subnet included; netavark 1.4 takes
  /// one per subnet.
  var configuresSeveralAddressesPerSubnet: Bool { get }

  /// Whether a teardown can do without the container's namespace (given as an empty path when it is gone or
  /// replaced), working on the host side only; netavark cannot, and is given a stand-in namespace instead.
  var tearsDownWithoutNamespace: Bool { get }

  /// Whether a setup itself checks that the path is a network namespace, brings its `lo` up and refuses an interface
  /// name that exists there (``NetworkError/interfaceExists(_:namespacePath:)``), so the backend need not.
  var preparesNamespaces: Bool { get }

  /// Whether a setup gives each interface the `static_mac` of its request and reports that MAC, so that the backend
  /// can choose the MACs itself and record them with the addresses, in the allocation's transaction; netavark
  /// chooses its own, which the backend records after the setup.
  var usesRequestedMACAddresses: Bool { get }

  /// Removes what containers that died without a teardown left that only the dataplane knows of (the backend's
  /// own records are collected by the backend), and returns what it found; with `dryRun` it only lists.
  func collectGarbage(dryRun: Bool) async throws -> [StaleAttachment]

  /// Whether ``reloadFirewall(of:)`` restores running containers' rules where they are; if not, `network reload`
  /// tears each container down and sets it up again, as Podman does with netavark.
  var reloadsInPlace: Bool { get }

  /// Writes the firewall rules of these running containers (each given by the request of its setup) again, after
  /// someone flushed them.
  func reloadFirewall(of requests: [NetavarkRequest]) async throws
}

/// What a dataplane started for a setup or teardown ahead of it (``NetavarkDataplane/prepareSetup(namespacePath:)``).
/// Released unused, when the call fails before it reaches the dataplane, it lets go of what it holds.
public protocol NetavarkPreparation: AnyObject, Sendable {}

extension NetavarkDataplane {
  public func prepareSetup(namespacePath: String) -> (any NetavarkPreparation)? { nil }

  public func prepareTeardown(containerID: String, networks: [Network], namespaceWillBeRemoved: Bool)
    -> (any NetavarkPreparation)?
  { nil }

  public func teardown(namespacePath: String, request: NetavarkRequest, prepared: (any NetavarkPreparation)?)
    async throws
  {
    try await teardown(namespacePath: namespacePath, request: request)
  }

  public func setup(namespacePath: String, request: NetavarkRequest, prepared: (any NetavarkPreparation)?)
    async throws -> [String: StatusBlock]
  {
    try await setup(namespacePath: namespacePath, request: request)
  }

  /// netavark deletes a bridge with its last container, so there is nothing left to remove.
  public func removeNetwork(_ network: Network) async throws {}

  public var doesPodman5Options: Bool { false }

  public var configuresSeveralAddressesPerSubnet: Bool { false }

  public var tearsDownWithoutNamespace: Bool { false }

  public var preparesNamespaces: Bool { false }

  public var usesRequestedMACAddresses: Bool { false }

  /// netavark keeps nothing of its own per container beyond what the backend records.
  public func collectGarbage(dryRun: Bool) async throws -> [StaleAttachment] { [] }

  public var reloadsInPlace: Bool { false }

  /// Never called while ``reloadsInPlace`` is false.
  public func reloadFirewall(of requests: [NetavarkRequest]) async throws {}
}
