import ContainerNetworkCore
import NetworkAddress

/// What one network of a setup asks of IPAM.
public struct AddressRequest: Hashable, Sendable {
  public var network: Network
  /// The addresses the caller wants; empty means one free address per subnet.
  public var staticIPs: [IPAddress]

  public init(network: Network, staticIPs: [IPAddress] = []) {
    self.network = network
    self.staticIPs = staticIPs
  }
}

/// The interface a container was given on one network, and its MAC address when known.
public struct RecordedInterface: Hashable, Sendable {
  public var name: String
  public var mac: String?

  public init(name: String, mac: String?) {
    self.name = name
    self.mac = mac
  }
}

/// What a setup stored for its container, so that teardown and the lifecycle commands can undo it later.
public struct ContainerRecord: Hashable, Sendable {
  public var containerID: String
  public var containerName: String
  public var namespacePath: String
  /// What told the namespace from a later one at the same path when the setup ran (`device:inode`).
  public var namespaceIdentity: String?
  /// Opaque to IPAM: the backend's encoding of what applies to every network (port mappings, DNS servers).
  public var shared: String
  /// Opaque to IPAM: the backend's encoding of each network's options, by network name, addresses included.
  public var networks: [String: String]
  /// The interfaces already known when the addresses are allocated, by network name (see
  /// ``IPAMDatabase/recordInterfaces(containerID:_:)`` for those known only after the setup).
  public var interfaces: [String: RecordedInterface]

  public init(
    containerID: String, containerName: String, namespacePath: String, namespaceIdentity: String? = nil,
    shared: String, networks: [String: String], interfaces: [String: RecordedInterface] = [:]
  ) {
    self.containerID = containerID
    self.containerName = containerName
    self.namespacePath = namespacePath
    self.namespaceIdentity = namespaceIdentity
    self.shared = shared
    self.networks = networks
    self.interfaces = interfaces
  }
}

/// The persistent IPAM store: which container holds which address of which network, and what each container's
/// setup asked for. One SQLite file in the run directory, shared by every process.
///
/// Every change is one write transaction, so two processes never hand out one address, and a process killed at
/// any instant leaves either all of a setup's allocations and its record or none of them.
public final class IPAMDatabase: @unchecked Sendable {
  /// The file's name in the run directory; Podman's own IPAM is `ipam.db` beside it.
  public static let fileName = "cnet-ipam.sqlite"

  public let path: String
  private let database: SQLiteDatabase

  public init(directory: String, busyTimeout: Duration = .seconds(30)) throws(NetworkError) {
    path = "\(directory)/\(Self.fileName)"
    do {
      database = try SQLiteDatabase(path: path, busyTimeout: busyTimeout)
      try Self.prepareSchema(database)
    } catch {
      throw NetworkError(.io, "cannot open the IPAM database \(path): \(error)", causes: [error])
    }
  }

  private static let schemaVersion = "1"

  private static func prepareSchema(_ database: SQLiteDatabase) throws(SQLiteError) {
    if try database.query("PRAGMA user_version").first?.first == schemaVersion { return }
    // WAL lets readers (ls, inspect, gc --dry-run) proceed while a setup writes; it is kept in the file.
    try database.query("PRAGMA journal_mode=WAL")
    try database.execute(
      """
      BEGIN IMMEDIATE;
      CREATE TABLE IF NOT EXISTS allocation (
        network TEXT NOT NULL, ip TEXT NOT NULL, subnet TEXT NOT NULL, container_id TEXT NOT NULL,
        PRIMARY KEY (network, ip)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS allocation_by_container ON allocation (container_id);
      CREATE TABLE IF NOT EXISTS last_allocated (
        network TEXT NOT NULL, subnet TEXT NOT NULL, ip TEXT NOT NULL, PRIMARY KEY (network, subnet)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS container (
        container_id TEXT PRIMARY KEY, name TEXT NOT NULL, namespace TEXT NOT NULL, namespace_id TEXT,
        shared TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS attachment (
        container_id TEXT NOT NULL, network TEXT NOT NULL, options TEXT NOT NULL, interface TEXT, mac TEXT,
        PRIMARY KEY (container_id, network)) WITHOUT ROWID;
      PRAGMA user_version = \(schemaVersion);
      COMMIT;
      """)
  }

  private func failure(_ action: String, _ error: any Error) -> NetworkError {
    if let error = error as? NetworkError { return error }
    return NetworkError(.io, "IPAM database \(path): cannot \(action): \(error)", causes: [error])
  }

  /// Allocates addresses for `containerID` on every network of `requests`, then stores the record `makeRecord`
  /// builds from them, all in one transaction: on any error nothing is kept.
  ///
  /// - Parameter foreignHolders: addresses held outside this store (Podman's own IPAM), by network name, each with
  ///   its holder's container ID; they are never handed out.
  /// - Returns: each network's addresses, in the order of its subnets (or of its static IPs).
  public func allocate(
    containerID: String, requests: [AddressRequest], foreignHolders: [String: [IPAddress: String]] = [:],
    makeRecord: ([String: [IPAddress]]) throws -> ContainerRecord
  ) throws(NetworkError) -> [String: [IPAddress]] {
    do {
      return try database.writeTransaction {
        var granted: [String: [IPAddress]] = [:]
        for request in requests {
          let name = request.network.name
          if try !database.query(
            "SELECT 1 FROM attachment WHERE container_id = ? AND network = ?", [containerID, name]
          ).isEmpty {
            throw NetworkError(
              .alreadyExists, "container \(containerID) is already connected to network \(name)")
          }
          granted[name] = try allocate(containerID, request, foreign: foreignHolders[name] ?? [:])
        }
        let record = try makeRecord(granted)
        try database.query(
          """
          INSERT OR REPLACE INTO container (container_id, name, namespace, namespace_id, shared)
            VALUES (?, ?, ?, ?, ?)
          """, [containerID, record.containerName, record.namespacePath, record.namespaceIdentity, record.shared])
        for (network, options) in record.networks {
          let interface = record.interfaces[network]
          try database.query(
            "INSERT INTO attachment (container_id, network, options, interface, mac) VALUES (?, ?, ?, ?, ?)",
            [containerID, network, options, interface?.name, interface?.mac])
        }
        return granted
      }
    } catch {
      throw failure("allocate addresses", error)
    }
  }

  private func allocate(
    _ containerID: String, _ request: AddressRequest, foreign: [IPAddress: String]
  ) throws -> [IPAddress] {
    let network = request.network
    guard network.ipamDriver == "host-local" || network.ipamDriver == nil, !network.subnets.isEmpty else {
      guard request.staticIPs.isEmpty else {
        throw NetworkError(
          .invalidArgument,
          "cannot set static ips on network \(network.name): its ipam driver is \(network.ipamDriver ?? "none")")
      }
      return []
    }
    let holders = Dictionary(
      try database.query("SELECT ip, container_id FROM allocation WHERE network = ?", [network.name]).compactMap {
        row -> (IPAddress, String)? in
        guard let ip = row[0].flatMap(IPAddress.init), let holder = row[1] else { return nil }
        return (ip, holder)
      }, uniquingKeysWith: { first, _ in first }
    ).merging(foreign) { ours, _ in ours }
    var granted: [IPAddress] = []
    func take(_ ip: IPAddress, in subnet: Subnet) throws {
      try database.query(
        "INSERT INTO allocation (network, ip, subnet, container_id) VALUES (?, ?, ?, ?)",
        [network.name, ip.description, subnet.subnet.description, containerID])
      try database.query(
        "INSERT OR REPLACE INTO last_allocated (network, subnet, ip) VALUES (?, ?, ?)",
        [network.name, subnet.subnet.description, ip.description])
      granted.append(ip)
    }
    for ip in request.staticIPs {
      guard let subnet = network.subnets.first(where: { $0.subnet.contains(ip) }) else {
        throw NetworkError(.invalidArgument, "requested static ip \(ip) not in any subnet on network \(network.name)")
      }
      if let holder = holders[ip] ?? (request.staticIPs.filter { $0 == ip }.count > 1 ? containerID : nil) {
        throw NetworkError(.alreadyExists, "requested ip address \(ip) is already allocated to container ID \(holder)")
      }
      if ip == subnet.gateway || ip == subnet.subnet.masked.networkAddress
        || (ip.isIPv4 && ip == subnet.subnet.masked.broadcastAddress)
      {
        throw NetworkError(
          .invalidArgument, "requested ip address \(ip) is reserved on network \(network.name) (\(subnet.subnet))")
      }
    }
    // As Podman's allocIPs: one address per subnet, the static one where the caller gave one, else the next free
    // one; in the order of the subnets, which is the order netavark pairs addresses with gateways in.
    for subnet in network.subnets {
      let statics = request.staticIPs.filter { subnet.subnet.contains($0) }
      if !statics.isEmpty {
        for ip in statics { try take(ip, in: subnet) }
        continue
      }
      guard let range = AddressRange(subnet) else {
        throw NetworkError(.invalidArgument, "network \(network.name) has no usable address in \(subnet.subnet)")
      }
      let last = try database.query(
        "SELECT ip FROM last_allocated WHERE network = ? AND subnet = ?", [network.name, subnet.subnet.description]
      ).first?.first.flatMap { $0.flatMap(IPAddress.init) }
      guard let ip = range.nextFree(after: last, isTaken: { holders[$0] != nil }) else {
        let first = subnet.subnet.networkAddress.withValue(range.first)
        let end = subnet.subnet.networkAddress.withValue(range.last)
        throw NetworkError(
          .exhausted, "no free address left in \(first)-\(end) of network \(network.name) (subnet \(subnet.subnet))")
      }
      try take(ip, in: subnet)
    }
    return granted
  }

  /// The record of `containerID`, restricted to `networks` (all of its networks when nil); nil when the store has
  /// none of them.
  public func record(containerID: String, networks: [String]? = nil) throws(NetworkError) -> ContainerRecord? {
    do {
      guard
        let row = try database.query(
          "SELECT name, namespace, shared, namespace_id FROM container WHERE container_id = ?", [containerID]
        ).first
      else { return nil }
      var attached: [String: String] = [:]
      for entry in try database.query(
        "SELECT network, options FROM attachment WHERE container_id = ?", [containerID])
      {
        guard let network = entry[0], let options = entry[1] else { continue }
        if networks == nil || networks!.contains(network) { attached[network] = options }
      }
      if attached.isEmpty { return nil }
      return ContainerRecord(
        containerID: containerID, containerName: row[0] ?? "", namespacePath: row[1] ?? "", namespaceIdentity: row[3],
        shared: row[2] ?? "", networks: attached)
    } catch {
      throw failure("read container \(containerID)", error)
    }
  }

  /// Notes the interface and MAC address the dataplane gave `containerID` on each network, once its setup
  /// succeeded, for the lifecycle commands (gc, reload, connect) to find.
  public func recordInterfaces(containerID: String, _ interfaces: [String: (name: String, mac: String?)])
    throws(NetworkError)
  {
    do {
      try database.writeTransaction {
        for (network, interface) in interfaces {
          try database.query(
            "UPDATE attachment SET interface = ?, mac = ? WHERE container_id = ? AND network = ?",
            [interface.name, interface.mac, containerID, network])
        }
      }
    } catch {
      throw failure("record the interfaces of container \(containerID)", error)
    }
  }

  /// The interface and MAC address recorded for `containerID` on `network`.
  public func interface(containerID: String, network: String) throws(NetworkError) -> (name: String, mac: String?)? {
    do {
      guard
        let row = try database.query(
          "SELECT interface, mac FROM attachment WHERE container_id = ? AND network = ?", [containerID, network]
        ).first, let name = row[0]
      else { return nil }
      return (name, row[1])
    } catch {
      throw failure("read container \(containerID)", error)
    }
  }

  /// Every container ID with a record, in order.
  public func containerIDs() throws(NetworkError) -> [String] {
    do {
      return try database.query("SELECT container_id FROM container ORDER BY container_id").compactMap { $0[0] }
    } catch {
      throw failure("list containers", error)
    }
  }

  /// Every container ID with an attachment to `network`.
  public func containers(on network: String) throws(NetworkError) -> [String] {
    do {
      return try database.query(
        "SELECT container_id FROM attachment WHERE network = ? ORDER BY container_id", [network]
      ).compactMap { $0[0] }
    } catch {
      throw failure("read network \(network)", error)
    }
  }

  /// Frees the addresses of `containerID` on `networks` and forgets those attachments; the container's record
  /// goes with its last attachment. Releasing what is not held is not an error.
  public func release(containerID: String, networks: [String]) throws(NetworkError) {
    do {
      try database.writeTransaction {
        for network in networks {
          try database.query(
            "DELETE FROM allocation WHERE container_id = ? AND network = ?", [containerID, network])
          try database.query("DELETE FROM attachment WHERE container_id = ? AND network = ?", [containerID, network])
        }
        try database.query(
          """
          DELETE FROM container WHERE container_id = ?1
            AND NOT EXISTS (SELECT 1 FROM attachment WHERE container_id = ?1)
          """, [containerID])
      }
    } catch {
      throw failure("release container \(containerID)", error)
    }
  }

  /// Drops every allocation and attachment of a removed network.
  public func forget(network: String) throws(NetworkError) {
    do {
      try database.writeTransaction {
        try database.query("DELETE FROM allocation WHERE network = ?", [network])
        try database.query("DELETE FROM last_allocated WHERE network = ?", [network])
        try database.query("DELETE FROM attachment WHERE network = ?", [network])
        try database.query(
          "DELETE FROM container WHERE container_id NOT IN (SELECT container_id FROM attachment)")
      }
    } catch {
      throw failure("forget network \(network)", error)
    }
  }

  /// What is wrong with the store, one line each; empty when it is whole: SQLite's own integrity check, and the
  /// links between the tables (every address belongs to an attachment, every attachment to a container record).
  public func consistencyProblems() throws(NetworkError) -> [String] {
    do {
      var problems = try database.query("PRAGMA integrity_check").compactMap { $0[0] }.filter { $0 != "ok" }
      for row in try database.query(
        """
        SELECT network, ip, container_id FROM allocation a WHERE NOT EXISTS
          (SELECT 1 FROM attachment t WHERE t.container_id = a.container_id AND t.network = a.network)
        """)
      {
        problems.append(
          "address \(row[1] ?? "") of network \(row[0] ?? "") is held by \(row[2] ?? ""), which has no attachment")
      }
      for row in try database.query(
        """
        SELECT container_id, network FROM attachment t WHERE NOT EXISTS
          (SELECT 1 FROM container c WHERE c.container_id = t.container_id)
        """)
      {
        problems.append("attachment of \(row[0] ?? "") to \(row[1] ?? "") has no container record")
      }
      return problems
    } catch {
      throw failure("check the database", error)
    }
  }

  /// Every address held on `network`, with its holder.
  public func allocations(network: String) throws(NetworkError) -> [IPAddress: String] {
    do {
      var result: [IPAddress: String] = [:]
      for row in try database.query("SELECT ip, container_id FROM allocation WHERE network = ?", [network]) {
        if let ip = row[0].flatMap(IPAddress.init), let holder = row[1] { result[ip] = holder }
      }
      return result
    } catch {
      throw failure("read network \(network)", error)
    }
  }
}
