import ContainerNetworkCore
import NetavarkBackend
import NetworkAddress

/// Container name resolution on the native dataplane's bridge networks, as netavark 1.4 provides it: one aardvark-dns
/// per host namespace, listening on the gateways of every network with DNS, told of each container in the network's
/// file of its configuration directory (``AardvarkConfigDirectory``). Every change is made under netavark's commit
/// lock and ends with the server reloaded (or started, or stopped once no network has a container left).
struct AardvarkDNS: Sendable {
  var directory: AardvarkConfigDirectory
  var server: AardvarkServer

  /// The search domain netavark 1.4 reports for every network with DNS (`dns_search_domains`); aardvark-dns answers
  /// names under it too.
  static let searchDomain = "dns.podman"

  /// Whether containers on `network` get names: netavark 1.4 gives them on bridge networks with DNS enabled, internal
  /// or not, and only where a gateway exists for aardvark-dns to listen on.
  static func servesNames(on network: Network) -> Bool {
    network.driver == "bridge" && network.dnsEnabled && !gateways(of: network).isEmpty
  }

  /// The addresses aardvark-dns listens on for `network`, which are also the servers the containers are told.
  static func gateways(of network: Network) -> [IPAddress] {
    network.subnets.compactMap(\.gateway)
  }

  /// A setup's status for `network`: its DNS servers and search domain, as netavark 1.4 reports them.
  static func statusDNS(of network: Network, request: NetavarkRequest) -> (servers: [IPAddress], domains: [String]) {
    if network.driver != "bridge" { return ([], []) }
    if network.dnsEnabled { return (gateways(of: network), [searchDomain]) }
    // netavark passes the container's own servers on, so that the engine can write them into resolv.conf.
    return (request.options.dnsServers.compactMap { IPAddress($0) }, [])
  }

  /// The lines a setup adds: one per network with DNS. Checked before anything is made, so that a name the file
  /// format cannot hold fails the setup at once.
  static func entries(for request: NetavarkRequest) throws(NetworkError) -> [(network: Network, entry: AardvarkEntry)] {
    let options = request.options
    let containerServers = try addresses(options.dnsServers, of: "container \(options.containerName)")
    var entries: [(network: Network, entry: AardvarkEntry)] = []
    for named in options.networks {
      guard let network = request.networkInfo[named.name], servesNames(on: network) else { continue }
      _ = try addresses(network.networkDNSServers, of: "network \(network.name)")
      // A container without a name (a bare `cnet setup`) is still found by its short ID, as Podman names it too.
      var names = ([options.containerName] + named.options.aliases).filter { !$0.isEmpty }
      if names.isEmpty { names = [String(options.containerID.prefix(12))] }
      for text in [options.containerID] + names {
        if let problem = AardvarkEntry.problem(with: text) {
          throw NetworkError(
            .invalidArgument,
            "container \(options.containerID.prefix(12)) cannot have DNS on network \(network.name): the name or ID \"\(text)\" is not usable because \(problem)"
          )
        }
      }
      entries.append(
        (
          network,
          AardvarkEntry(
            containerID: options.containerID.lowercased(), addresses: named.options.staticIPs, names: names,
            dnsServers: containerServers)
        ))
    }
    return entries
  }

  /// Adds the container's lines and has the server listen on their networks' gateways, starting it if none runs.
  func add(_ entries: [(network: Network, entry: AardvarkEntry)]) async throws(NetworkError) {
    guard !entries.isEmpty else { return }
    try await directory.withLock { () async throws(NetworkError) in
      for (network, entry) in entries {
        let file: AardvarkNetworkFile
        if let existing = try directory.read(network: network.name) {
          file = existing
        } else {
          file = AardvarkNetworkFile(
            bindAddresses: Self.gateways(of: network),
            networkDNSServers: try Self.addresses(network.networkDNSServers, of: "network \(network.name)"))
        }
        try directory.write(file.adding(entry), network: network.name)
      }
      try await server.apply(listeningOn: entries.flatMap { Self.gateways(of: $0.network) }, start: true)
    }
  }

  /// Removes the container's lines from the files of `networks`; the server reloads, or exits once no file is left.
  /// A server that is not running is no error (teardown must work without it).
  func remove(containerID: String, networks: [String]) async throws(NetworkError) {
    // A container with a line has its network's file (a file goes only with its last line), so a container on
    // networks without files (no DNS: most teardowns) has nothing here, and takes no lock.
    guard networks.contains(where: directory.hasFile(network:)) else { return }
    try await directory.withLock { () async throws(NetworkError) in
      var changed = false
      for network in networks {
        guard let file = try directory.read(network: network) else { continue }
        let remaining = file.removing(containerID: containerID)
        guard remaining != file else { continue }
        try directory.write(remaining, network: network)
        changed = true
      }
      guard changed else { return }
      try await reloadOrStop()
    }
  }

  /// Replaces the network's upstream servers (the second field of its first line) and reloads the server. Without a
  /// file no container uses the network: the network's definition, which the next setup reads, is all there is.
  func setNetworkDNSServers(network: String, servers: [String]) async throws(NetworkError) {
    let addresses = try Self.addresses(servers, of: "network \(network)")
    try await directory.withLock { () async throws(NetworkError) in
      guard var file = try directory.read(network: network) else { return }
      file.networkDNSServers = addresses
      try directory.write(file, network: network)
      try await server.apply(listeningOn: [], start: false)
    }
  }

  /// Removes the lines of containers that `isStale` names (network, container ID), for garbage collection; returns
  /// what it removed (or, dry, would).
  func removeEntries(
    dryRun: Bool, where isStale: (_ network: String, _ containerID: String) -> Bool
  ) async throws(NetworkError) -> [(network: String, containerID: String)] {
    try await directory.withLock { () async throws(NetworkError) in
      var found: [(network: String, containerID: String)] = []
      for network in directory.networks() {
        guard let file = try? directory.read(network: network) else { continue }
        let stale = file.entries.filter { isStale(network, $0.containerID) }
        guard !stale.isEmpty else { continue }
        found += stale.map { (network, $0.containerID) }
        guard !dryRun else { continue }
        var remaining = file
        remaining.entries.removeAll { entry in stale.contains(entry) }
        try directory.write(remaining, network: network)
      }
      if !dryRun && !found.isEmpty { try await reloadOrStop() }
      return found
    }
  }

  private func reloadOrStop() async throws(NetworkError) {
    let networks = directory.networks()
    if networks.isEmpty {
      await server.stop()
    } else {
      // Waited for until it listens on the remaining networks' gateways again: a query right after a teardown or
      // gc must not land while the reloading server has no socket there.
      var addresses: [IPAddress] = []
      for network in networks { addresses += (try? directory.read(network: network))??.bindAddresses ?? [] }
      try await server.apply(listeningOn: addresses, start: false)
    }
  }

  /// `texts` as addresses; the file format (and aardvark-dns, which stops on a bad one) takes nothing else.
  static func addresses(_ texts: [String], of owner: String) throws(NetworkError) -> [IPAddress] {
    var found: [IPAddress] = []
    for text in texts {
      guard let address = IPAddress(text) else {
        throw NetworkError(.invalidArgument, "DNS server \"\(text)\" of \(owner) is not an IP address")
      }
      found.append(address)
    }
    return found
  }
}
