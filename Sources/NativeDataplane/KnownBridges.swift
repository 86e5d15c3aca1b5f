import ContainerNetworkCore
import Synchronization

/// The bridges this process has made sure of (created or checked, with gateways and flags set), by network ID and
/// name: an engine that starts many containers on one network checks its bridge once, not at every setup. Only a
/// hint: a bridge deleted since makes the next attach fail, and the setup then makes sure of it again.
final class KnownBridges: Sendable {
  static let shared = KnownBridges()

  private let indices = Mutex<[String: Int32]>([:])

  private static func key(_ network: Network) -> String { "\(network.id)/\(network.networkInterface)" }

  func index(of network: Network) -> Int32? {
    indices.withLock { $0[Self.key(network)] }
  }

  func remember(_ network: Network, index: Int32) {
    indices.withLock { $0[Self.key(network)] = index }
  }

  func forget(_ network: Network) {
    _ = indices.withLock { $0.removeValue(forKey: Self.key(network)) }
  }
}
