import CNIRuntime
import ContainerNetworkCore
import NetworkNFTables
import NetworkNetlink
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The native dataplane's firewall: the per-host and per-network objects go through `nft -f -` (rare: a network's
/// first use, its removal, a reload), each script one transaction; a container's published ports are map elements,
/// added and removed in one nfnetlink batch of our own. See ``FirewallRuleset`` for the layout.
struct NativeFirewall: Sendable {
  var hostNamespacePath: String?
  var nftPath: String
  /// The port the DNS server listens on; containers' queries to port 53 are redirected to another.
  var dnsPort: Int = 53
  var timeout: Duration = .seconds(30)

  /// Runs `body` with the process's netfilter socket in the host namespace (``FirewallSocket``).
  func withSocket<T: Sendable>(_ body: (NFTablesNetlink) throws(NetworkError) -> T) throws(NetworkError) -> T {
    try FirewallSocket.shared.with(namespacePath: hostNamespacePath, body)
  }

  /// Whether the bridge's objects are there, by its marker chain.
  func isInPlace(bridge: String) throws(NetworkError) -> Bool {
    try withSocket { socket throws(NetworkError) in
      try netlink { () throws(NetlinkError) in
        try socket.chainExists(table: FirewallRuleset.table, chain: FirewallRuleset.marker(bridge: bridge))
      }
    }
  }

  /// Makes sure the per-host objects and the bridge network's are there: looked up by the network's marker chain,
  /// and written (all in one transaction) when it is missing.
  func ensure(_ network: Network) async throws(NetworkError) {
    if try isInPlace(bridge: network.networkInterface) { return }
    try await run(
      FirewallRuleset.skeleton + FirewallRuleset.network(network, dnsPort: dnsPort),
      purpose: "setting up the firewall of network \(network.name)")
  }

  /// Adds the forwards, in one transaction unless a range spans thousands of ports; a host port that another
  /// container publishes fails the whole of it.
  func publish(_ forwards: [PortForward]) throws(NetworkError) {
    let transactions = Self.transactions(.add, forwards)
    try withSocket { socket throws(NetworkError) in
      do throws(NetlinkError) {
        for (index, transaction) in transactions.enumerated() {
          do throws(NetlinkError) {
            try socket.apply(transaction)
          } catch {
            // What the earlier transactions added goes again.
            for added in transactions[..<index] { try? socket.removeElements(added) }
            throw error
          }
        }
      } catch {
        if error.errno == EEXIST {
          let taken = forwards.first { forward in (try? Self.target(of: forward, in: socket)) != nil }
          throw NetworkError(
            .alreadyExists,
            "port \(taken?.hostDescription ?? forwards.map(\.hostDescription).joined(separator: ", ")) is already published by another container",
            causes: [error])
        }
        throw NetworkError(.io, "publishing ports: \(error)", causes: [error])
      }
    }
  }

  /// Removes the forwards; ones that are gone (a flushed ruleset) are no error. With `verify`, only the ones whose
  /// target is still this container's (a setup that stopped half-way may not have added them).
  func unpublish(_ forwards: [PortForward], verify: Bool = false) throws(NetworkError) {
    try withSocket { socket throws(NetworkError) in
      let mine =
        verify ? try netlink { () throws(NetlinkError) in try Self.stillOurs(forwards, in: socket) } : forwards
      do throws(NetlinkError) {
        for transaction in Self.transactions(.destroy, mine) { try socket.removeElements(transaction) }
      } catch  where error.errno == ENOENT {
        // The table or a map is gone: so are the elements.
      } catch {
        throw NetworkError(.io, "removing published ports: \(error)", causes: [error])
      }
    }
  }

  /// Points the container's forwards `old` at another of its addresses, `new`, all or nothing: the old elements
  /// out and the new in, in one transaction (DELSETELEM, which every kernel has: the caller holds the network lock,
  /// so the old elements just seen are still there), and the ports answer throughout. An old element that no longer
  /// targets the old address stays (a flushed and reloaded map, or a move that stopped before its state was
  /// written); a new one already in place is kept; a new key that another container holds fails the move and
  /// changes nothing.
  func move(_ old: [PortForward], to new: [PortForward]) throws(NetworkError) {
    try withSocket { socket throws(NetworkError) in
      do {
        let leaving = try Self.stillOurs(old, in: socket)
        let freed = Set(leaving.map(\.slot))
        var arriving: [PortForward] = []
        for forward in new {
          if freed.contains(forward.slot) {
            arriving.append(forward)
            continue
          }
          switch try Self.target(of: forward, in: socket) {
          case nil: arriving.append(forward)
          case forward.element.data: continue
          default:
            throw NetworkError(
              .alreadyExists, "port \(forward.hostDescription) is already published by another container")
          }
        }
        let messages =
          Self.transactions(.delete, leaving).flatMap { $0 } + Self.transactions(.add, arriving).flatMap { $0 }
        // One transaction unless a range spans thousands of ports; then out, and in, a transaction at a time.
        for start in stride(from: 0, to: messages.count, by: Self.messagesPerTransaction) {
          try socket.apply(Array(messages[start..<min(start + Self.messagesPerTransaction, messages.count)]))
        }
      } catch let error as NetworkError {
        throw error
      } catch {
        throw NetworkError(.io, "moving published ports: \(error)", causes: [error])
      }
    }
  }

  /// What the forward's key maps to now (an address and a port); nil when the key is not in its map.
  private static func target(of forward: PortForward, in socket: NFTablesNetlink) throws(NetlinkError) -> [UInt8]? {
    try socket.elementData(table: FirewallRuleset.table, set: forward.map, key: forward.element.key)
  }

  /// The forwards whose keys still map to their targets: this container's, not a later holder's of the port.
  private static func stillOurs(_ forwards: [PortForward], in socket: NFTablesNetlink) throws(NetlinkError)
    -> [PortForward]
  {
    var ours: [PortForward] = []
    for forward in forwards where try target(of: forward, in: socket) == forward.element.data { ours.append(forward) }
    return ours
  }

  /// Removes a bridge's chains and elements, if it has any.
  func removeNetwork(bridge: String) async throws(NetworkError) {
    guard try isInPlace(bridge: bridge) else { return }
    try await run(FirewallRuleset.removal(bridge: bridge), purpose: "removing the firewall of bridge \(bridge)")
  }

  /// Writes the per-host objects, every network's and every forward again, in one transaction: after
  /// `nft flush ruleset`, this is the whole table as it was.
  func reload(networks: [Network], forwards: [PortForward]) async throws(NetworkError) {
    var lines = FirewallRuleset.skeleton
    for network in networks { lines += FirewallRuleset.network(network, dnsPort: dnsPort) }
    lines += FirewallRuleset.elements(forwards)
    try await run(lines, purpose: "reloading the firewall")
  }

  /// A nested netlink attribute holds at most 64 KiB (about 1000 IPv6 forwards), and a datagram at most the
  /// socket's send buffer (208 KiB by default).
  static let elementsPerMessage = 800
  static let messagesPerTransaction = 3

  /// The forwards as transactions of element messages, one map per message: one transaction unless a range spans
  /// thousands of ports.
  static func transactions(_ operation: SetElementBatch.Operation, _ forwards: [PortForward]) -> [[SetElementBatch]] {
    var messages: [SetElementBatch] = []
    for (map, forwards) in Dictionary(grouping: forwards, by: \.map).sorted(by: { $0.key < $1.key }) {
      for start in stride(from: 0, to: forwards.count, by: elementsPerMessage) {
        let chunk = forwards[start..<min(start + elementsPerMessage, forwards.count)]
        messages.append(
          SetElementBatch(operation, table: FirewallRuleset.table, set: map, elements: chunk.map(\.element)))
      }
    }
    return stride(from: 0, to: messages.count, by: messagesPerTransaction).map {
      Array(messages[$0..<min($0 + messagesPerTransaction, messages.count)])
    }
  }

  /// Runs `nft -f -` in the host namespace with `lines` as one transaction.
  func run(_ lines: [String], purpose: String) async throws(NetworkError) {
    let script = lines.joined(separator: "\n") + "\n"
    var request = ProcessRequest(
      path: nftPath, arguments: [nftPath, "-f", "-"], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
      stdin: Array(script.utf8), namespacePath: hostNamespacePath, timeout: timeout, maximumOutputBytes: 1 << 20)
    // Half a ruleset change is worse than a late one.
    request.cancellable = false
    do {
      _ = try await ProcessRunner.runHelper(request)
    } catch {
      switch error {
      case .notStarted(let failure):
        throw NetworkError(
          .notFound,
          "\(purpose): cannot run \(nftPath): \(String(cString: strerror(failure.errno))) (install nftables)")
      case .interrupted(let interruption):
        throw NetworkError(.io, "\(purpose): nft did not finish: \(interruption)", causes: [interruption])
      case .failed(let output):
        let text = String(decoding: output.stderr, as: UTF8.self)
        let reason =
          text.split(separator: "\n").first { $0.contains("Error") }.map(String.init) ?? "\(output.termination)"
        throw NetworkError(.io, "\(purpose): nft failed: \(reason)")
      }
    }
  }
}
