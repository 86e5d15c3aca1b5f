import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The built `cnet` binary.
enum CNetBinary {
  static let path: String? = BuiltProduct.path("cnet")

  static func require() throws -> String { try BuiltProduct.require("cnet") }
}

/// One test's private world for `cnet`: its own config, cache and host-local directories (so nothing touches
/// /etc/cni/net.d or /var/lib/cni, not even a command that names no directory), and a clean environment without the
/// caller's CNET_* variables.
struct CNetSandbox {
  let root: TemporaryDirectory
  let binary: String
  var configDir: String { root.appending("config") }
  var cacheDir: String { root.appending("cache") }
  var hostLocalDir: String { root.appending("ipam") }
  /// Where a command that names no directory reads networks and keeps its cache (CNET_CONFIG_DIR, CNET_CACHE_DIR),
  /// instead of /etc/cni/net.d and /var/lib/cni; kept apart from `configDir`, so that tests of those variables
  /// still tell them from the defaults.
  var defaultConfigDir: String { root.appending("default-config") }
  var defaultCacheDir: String { root.appending("default-cache") }
  /// An empty containers.conf that replaces the machine's (CONTAINERS_CONF).
  var containersConf: String { root.appending("containers.conf") }
  /// CNET_HOST_NETNS for the commands, when the test runs plugins.
  var hostNamespace: String?

  init(hostNamespace: String? = nil) throws {
    binary = try CNetBinary.require()
    root = try TemporaryDirectory(prefix: "cnet-cli")
    self.hostNamespace = hostNamespace
    for directory in [configDir, cacheDir, hostLocalDir] {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    _ = FileManager.default.createFile(atPath: containersConf, contents: nil)
  }

  func remove() { root.remove() }

  /// The environment every command gets: ours without CNET_*, plus the host-local directory and host namespace.
  func environment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNET_") }
    environment["CNET_HOST_LOCAL_DIR"] = hostLocalDir
    environment["CNET_CONFIG_DIR"] = defaultConfigDir
    environment["CNET_CACHE_DIR"] = defaultCacheDir
    // The machine's containers.conf files must not steer a test: an empty one replaces them all.
    environment["CONTAINERS_CONF"] = containersConf
    if let hostNamespace { environment["CNET_HOST_NETNS"] = hostNamespace }
    environment.merge(extra) { $1 }
    return environment
  }

  /// The directory options, placed after the subcommand.
  var directoryOptions: [String] { ["--config-dir", configDir, "--cache-dir", cacheDir] }

  /// Runs `cnet SUBCOMMAND ARGS…` with the sandbox's directories given after the subcommand.
  @discardableResult
  func cnet(
    _ arguments: [String], input: String? = nil, environment extra: [String: String] = [:]
  ) throws -> CommandResult {
    let full = arguments.isEmpty ? directoryOptions : [arguments[0]] + directoryOptions + arguments.dropFirst()
    return try raw(full, input: input, environment: extra)
  }

  /// Runs `cnet ARGS…` exactly as given (no directory options added).
  @discardableResult
  func raw(_ arguments: [String], input: String? = nil, environment extra: [String: String] = [:]) throws
    -> CommandResult
  {
    try runCommand([binary] + arguments, input: input ?? "", environment: environment(extra), check: false)
  }

  /// Runs a command that must succeed and returns its stdout.
  @discardableResult
  func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let result = try cnet(arguments)
    #expect(result.status == 0, "cnet \(arguments) failed: \(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr == "", sourceLocation: sourceLocation)
    return result.stdout
  }
}

/// Creates a sandbox, runs `body`, and removes the sandbox even when `body` throws.
func withSandbox<T>(hostNamespace: String? = nil, _ body: (CNetSandbox) async throws -> T) async throws -> T {
  let sandbox = try CNetSandbox(hostNamespace: hostNamespace)
  defer { sandbox.remove() }
  return try await body(sandbox)
}

/// Parses JSON output for structural checks.
func parseJSON(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
  do {
    return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
  } catch {
    Issue.record("not JSON: \(text)", sourceLocation: sourceLocation)
    throw error
  }
}
