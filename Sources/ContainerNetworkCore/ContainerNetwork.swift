import NetworkAddress

/// The contract between a container engine and a network backend.
///
/// A backend manages networks (create, list, inspect, remove, prune, update) and attaches a container's network
/// namespace to them (setup) and detaches it again (teardown). Every backend reads and writes its own on-disk
/// format; callers see only these types.
public protocol ContainerNetwork: Sendable {
  /// Creates a network and returns it completed: name, ID, interface, subnets, gateways, IPAM driver, created time.
  ///
  /// When the name is taken, throws ``NetworkError/Code/alreadyExists`` unless
  /// ``CreateOptions/returnExisting`` is set, in which case the existing network is returned unchanged.
  func create(_ network: Network, options: CreateOptions) async throws -> Network

  /// Removes a network. With `force`, containers still attached are detached first; without it, a network in use
  /// is refused. The default network cannot be removed.
  func remove(_ nameOrID: String, force: Bool) async throws

  /// The networks that match every filter key (values of one key are alternatives).
  func list(filters: NetworkFilters) async throws -> [Network]

  /// One network, by exact name, then full ID, then unique ID prefix.
  func inspect(_ nameOrID: String) async throws -> Network

  /// Removes every unused network that matches the filters, except the default network; returns their names.
  func prune(filters: NetworkFilters) async throws -> [String]

  /// Attaches the network namespace at `namespacePath` to the networks in `options`; returns one status block
  /// per network name. On failure nothing stays attached.
  func setup(namespacePath: String, options: NetworkOptions) async throws -> [String: StatusBlock]

  /// Detaches the namespace from the networks in `options`. Succeeds when nothing is attached, when repeated,
  /// and when the namespace no longer exists; all errors are collected and reported together.
  func teardown(namespacePath: String, options: NetworkOptions) async throws

  /// Changes a network's DNS servers. Backends that cannot throw ``NetworkError/Code/notSupported``.
  func update(_ nameOrID: String, options: NetworkUpdateOptions) async throws

  /// The drivers this backend can create, e.g. `["bridge", "macvlan", "ipvlan"]`.
  var drivers: [String] { get }

  /// The name of the network that exists even with no config on disk (`podman`).
  var defaultNetworkName: String { get }

  /// The backend, its directories, defaults and programs (found or not, with their versions), and where its
  /// settings came from: what `cnet info` prints.
  func networkInfo() async -> NetworkInfo

  /// Finds every stale attachment (its namespace is gone, or another namespace is mounted at its path: the container
  /// died without a teardown) and, unless `dryRun`, tears each down with what its setup saved, releasing its
  /// addresses, links and rules. Safe while other processes set up and tear down.
  func collectGarbage(dryRun: Bool) async throws -> [StaleAttachment]

  /// Sets up again the live attachments of `containers` (IDs or names an earlier setup recorded; every live
  /// container when nil) with the same addresses, MAC and ports: tears each down, tolerating rules that are already
  /// gone, and sets it up again. What `podman network reload` does after a firewall reload flushed the rules.
  /// Returns the IDs of the containers reloaded.
  func reload(containers: [String]?) async throws -> [String]

  /// Every container with a live attachment, each with its namespace and its interface on each network: what
  /// `connect`, `disconnect` and `inspect` need to know of containers.
  func attachedContainers() async throws -> [AttachedContainer]
}

/// A container as its setups recorded it.
public struct AttachedContainer: Hashable, Sendable {
  public var id: String
  /// The name its setup gave (`container_name`); may be empty.
  public var name: String
  public var namespacePath: String
  /// Per network name: the interface inside the container and its addresses and MAC.
  public var networks: [String: NamedInterface]
  /// The ports its setup published, which `connect` and `disconnect` pass again, as Podman does.
  public var portMappings: [PortMapping]

  public init(
    id: String, name: String, namespacePath: String, networks: [String: NamedInterface],
    portMappings: [PortMapping] = []
  ) {
    self.id = id
    self.name = name
    self.namespacePath = namespacePath
    self.networks = networks
    self.portMappings = portMappings
  }
}

/// An interface inside a container, by name.
public struct NamedInterface: Hashable, Sendable {
  public var name: String
  public var interface: NetInterface

  public init(name: String, interface: NetInterface) {
    self.name = name
    self.interface = interface
  }
}

/// Which containers a caller means (reload, connect, disconnect): IDs, unique ID prefixes or names, as Podman
/// matches them.
public enum ContainerSelection {
  /// The IDs `requested` names among `known` (all of them when nil); a name or ID that matches none is an error.
  public static func choose(
    _ requested: [String]?, among known: [(id: String, name: String)]
  ) throws(NetworkError) -> Set<String> {
    guard let requested else { return Set(known.map(\.id)) }
    var chosen: Set<String> = []
    for wanted in requested {
      let exact = known.filter { $0.id == wanted || (!$0.name.isEmpty && $0.name == wanted) }
      let candidates = exact.isEmpty ? known.filter { $0.id.hasPrefix(wanted) } : exact
      guard !wanted.isEmpty, let first = candidates.first else {
        throw NetworkError(.notFound, "no container with name or ID \(NameValidation.displayed(wanted)) found")
      }
      guard Set(candidates.map(\.id)).count == 1 else {
        throw NetworkError(.ambiguous, "more than one container matches \(NameValidation.displayed(wanted))")
      }
      chosen.insert(first.id)
    }
    return chosen
  }
}

/// An attachment whose container died without a teardown.
public struct StaleAttachment: Hashable, Sendable, Codable {
  public var containerID: String
  public var network: String
  public var namespacePath: String

  public init(containerID: String, network: String, namespacePath: String) {
    self.containerID = containerID
    self.network = network
    self.namespacePath = namespacePath
  }

  enum CodingKeys: String, CodingKey {
    case network
    case containerID = "container_id"
    case namespacePath = "namespace_path"
  }
}

extension ContainerNetwork {
  /// Creates a network, failing when the name is taken.
  public func create(_ network: Network) async throws -> Network {
    try await create(network, options: CreateOptions())
  }

  /// Every network.
  public func list() async throws -> [Network] {
    try await list(filters: NetworkFilters())
  }
}

/// Options of ``ContainerNetwork/create(_:options:)``.
public struct CreateOptions: Hashable, Sendable {
  /// Return the existing network instead of failing when the name is taken (`podman network create --ignore`).
  public var returnExisting: Bool

  public init(returnExisting: Bool = false) {
    self.returnExisting = returnExisting
  }
}

/// Options of ``ContainerNetwork/update(_:options:)``.
public struct NetworkUpdateOptions: Hashable, Sendable {
  public var addDNSServers: [String]
  public var removeDNSServers: [String]

  public init(addDNSServers: [String] = [], removeDNSServers: [String] = []) {
    self.addDNSServers = addDNSServers
    self.removeDNSServers = removeDNSServers
  }

  /// The same options with comma lists split, as Podman splits `--dns-add 1.1.1.1,8.8.8.8`; throws for any entry
  /// that is not an IP address.
  public func normalized() throws(NetworkError) -> NetworkUpdateOptions {
    NetworkUpdateOptions(
      addDNSServers: try DNSServerList.parse(addDNSServers), removeDNSServers: try DNSServerList.parse(removeDNSServers)
    )
  }
}

/// Upstream DNS servers as users give them (`--dns`, `--dns-add`, `--dns-drop`).
public enum DNSServerList {
  /// `list` with comma lists split, as Podman's string-slice flags split them; throws for any entry that is not an
  /// IP address.
  public static func parse(_ list: [String]) throws(NetworkError) -> [String] {
    var servers: [String] = []
    for item in list {
      for server in item.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
        guard IPAddress(server) != nil else {
          throw NetworkError(.invalidArgument, "invalid DNS server \(NameValidation.displayed(server))")
        }
        servers.append(server)
      }
    }
    return servers
  }
}
