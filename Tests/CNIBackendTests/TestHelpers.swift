import CNIBackend
import ContainerNetworkCore
import Foundation
import Logging
import NetworkAddress
import TestSupport

enum BackendFixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

  /// Podman 4.3's files, in the shared folder beside the repository (present in CI).
  static let podmanReference = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/podman-4.3-reference/cni")

  /// Copies the fixture sets `sets` (e.g. "valid", "invalid") into `destination`.
  static func copy(_ sets: [String], to destination: String) throws {
    for set in sets {
      let source = directory.appendingPathComponent(set)
      for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
        try FileManager.default.copyItem(
          atPath: source.appendingPathComponent(name).path, toPath: "\(destination)/\(name)")
      }
    }
  }
}

/// A backend on temporary directories with test-only subnet pools, so results do not depend on the host's addresses.
struct BackendSandbox {
  let root: TemporaryDirectory
  let logs = LogCapture()
  var configDirectory: String { root.appending("net.d") }

  init() throws {
    root = try TemporaryDirectory(prefix: "cnet-backend")
    try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
  }

  func configuration(hostNamespace: String? = nil, pools: [String]? = ["198.18.0.0/16"]) -> CNIBackendConfiguration {
    var configuration = CNIBackendConfiguration(
      configDirectory: configDirectory, pluginDirectories: TestEnvironment.pluginDirectories,
      cacheDirectory: root.appending("cache"), hostLocalDataDirectory: root.appending("ipam"),
      hostNamespacePath: hostNamespace, logger: logs.logger)
    if let pools { configuration.subnetPools = pools.map { SubnetPool(base: IPNetwork($0)!, size: 24) } }
    return configuration
  }

  func backend(hostNamespace: String? = nil, pools: [String]? = ["198.18.0.0/16"]) -> CNINetworkBackend {
    CNINetworkBackend(configuration: configuration(hostNamespace: hostNamespace, pools: pools))
  }

  func remove() { root.remove() }

  func fileNames() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: configDirectory).sorted()
  }
}
