import CNIBackend
import ContainerNetworkCore
import Foundation
import Logging
import NetworkAddress
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Scripts of this package.
enum PackageScript {
  /// `scripts/<name>`.
  static func path(_ name: String, filePath: String = #filePath) -> String {
    URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("scripts/\(name)").path
  }
}

/// A backend over a temp directory: config, cache and host-local directories that nothing else uses.
struct Sandbox {
  let root: TemporaryDirectory
  var configDirectory: String { root.appending("config") }
  /// Not created in advance: the library creates it, so its mode is the library's.
  var cacheDirectory: String { root.appending("cache/cni") }
  var hostLocalDirectory: String { root.appending("ipam") }

  init() throws {
    root = try TemporaryDirectory(prefix: "cnet-rel")
    try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
  }

  func backend(hostNamespace: String? = nil, logger: Logger? = nil) -> CNINetworkBackend {
    var configuration = CNIBackendConfiguration(
      configDirectory: configDirectory, pluginDirectories: TestEnvironment.pluginDirectories,
      cacheDirectory: cacheDirectory, hostLocalDataDirectory: hostLocalDirectory, pluginTimeout: .seconds(30),
      hostNamespacePath: hostNamespace)
    configuration.subnetPools = [SubnetPool(base: IPNetwork("10.236.0.0/16")!, size: 24)]
    if let logger { configuration.logger = logger }
    return CNINetworkBackend(configuration: configuration)
  }

  func remove() { root.remove() }
}

/// Every file and directory under `path`, relative to it, sorted; empty when `path` does not exist.
func entries(under path: String) -> [String] {
  guard let enumerator = FileManager.default.enumerator(atPath: path) else { return [] }
  var items: [String] = []
  while let item = enumerator.nextObject() as? String { items.append(item) }
  return items.sorted()
}

/// The permission bits of `path`; nil when it cannot be stat'ed.
func permissions(_ path: String) -> mode_t? {
  var info = stat()
  guard lstat(path, &info) == 0 else { return nil }
  return info.st_mode & 0o7777
}

/// A 64-hex-digit container ID.
func randomContainerID() -> String {
  (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
}
