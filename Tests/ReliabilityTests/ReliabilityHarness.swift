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

/// Products of the same build (`cnet`, `cnet-soak`), found next to the running test bundle.
enum BuiltProduct {
  static func path(_ name: String) -> String? {
    var directories: [URL] = []
    let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    directories.append(argument0.deletingLastPathComponent())
    if let executable = Bundle.main.executableURL { directories.append(executable.deletingLastPathComponent()) }
    directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
    directories.append(Bundle.main.bundleURL)
    for url in Array(directories) {
      var parent = url
      for _ in 0..<3 {
        parent = parent.deletingLastPathComponent()
        directories.append(parent)
      }
    }
    for directory in directories {
      let candidate = directory.appendingPathComponent(name).path
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
        access(candidate, X_OK) == 0
      {
        return candidate
      }
    }
    return nil
  }

  static func require(_ name: String) throws -> String {
    guard let path = path(name) else {
      Issue.record(
        "\(name) was not found next to the test bundle (\(CommandLine.arguments[0])); build with --build-tests")
      throw Missing()
    }
    return path
  }

  struct Missing: Error {}

  /// `scripts/<name>` of this package.
  static func script(_ name: String, filePath: String = #filePath) -> String {
    URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("scripts/\(name)").path
  }
}

/// Warnings a backend logged, for tests that expect "skipped with a warning".
final class WarningCollector: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: [String] = []

  func append(_ message: String) {
    lock.lock()
    stored.append(message)
    lock.unlock()
  }

  var messages: [String] {
    lock.lock()
    defer { lock.unlock() }
    return stored
  }

  var logger: Logger {
    var logger = Logger(label: "reliability") { _ in CollectingLogHandler(collector: self) }
    logger.logLevel = .warning
    return logger
  }
}

struct CollectingLogHandler: LogHandler {
  let collector: WarningCollector
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .warning

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    if event.level >= .warning { collector.append("\(event.message)") }
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
    configuration.subnetPools = [IPNetwork("10.236.0.0/16")!]
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
