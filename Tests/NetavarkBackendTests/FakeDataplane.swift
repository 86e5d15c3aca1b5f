import ContainerNetworkCore
import NetavarkBackend
import NetworkAddress
import Synchronization

/// A dataplane that configures nothing: it records each request and answers a setup with one status block per
/// network, built from the addresses IPAM put into the request, as netavark does.
final class FakeDataplane: NetavarkDataplane {
  struct Call: Sendable {
    var command: String
    var namespacePath: String
    var request: NetavarkRequest
  }

  private let state = Mutex<(calls: [Call], failSetup: Bool)>(([], false))

  var calls: [Call] { state.withLock { $0.calls } }

  func failNextSetups(_ fail: Bool) { state.withLock { $0.failSetup = fail } }

  struct Failure: Error, CustomStringConvertible {
    var description: String { "netavark setup: IO error: simulated" }
  }

  func setup(namespacePath: String, request: NetavarkRequest) async throws -> [String: StatusBlock] {
    let fail = state.withLock { state in
      state.calls.append(Call(command: "setup", namespacePath: namespacePath, request: request))
      return state.failSetup
    }
    if fail { throw Failure() }
    var statuses: [String: StatusBlock] = [:]
    for entry in request.options.networks {
      let network = request.networkInfo[entry.name]!
      let addresses = entry.options.staticIPs.compactMap { ip -> NetAddress? in
        guard let subnet = network.subnets.first(where: { $0.subnet.contains(ip) }) else { return nil }
        return NetAddress(
          ipnet: try! .init(address: ip, prefixLength: subnet.subnet.prefixLength), gateway: subnet.gateway)
      }
      statuses[entry.name] = StatusBlock(
        interfaces: [entry.options.interfaceName: NetInterface(subnets: addresses, macAddress: entry.options.staticMAC)]
      )
    }
    return statuses
  }

  func teardown(namespacePath: String, request: NetavarkRequest) async throws {
    state.withLock { $0.calls.append(Call(command: "teardown", namespacePath: namespacePath, request: request)) }
  }

  func updateDNSServers(network: String, servers: [String]) async throws {}
}

/// Accepts every namespace path; no interface exists in any of them; the paths in ``gone`` have vanished.
final class FakeNamespaces: ContainerNamespaces {
  private let vanished = Mutex<Set<String>>([])

  func vanish(_ path: String) { vanished.withLock { _ = $0.insert(path) } }

  func check(_ path: String, forTeardown: Bool) throws(NetworkError) {}
  func prepare(_ path: String, interfaces: [String]) async throws(NetworkError) -> [String] { [] }
  func isGone(_ path: String) -> Bool { vanished.withLock { $0.contains(path) } }

  func withStandIn<T: Sendable>(
    interfaces: [StandInInterface], under directory: String, _ body: @Sendable (String) async throws -> T
  ) async throws -> T {
    try await body("/stand-in")
  }
}
