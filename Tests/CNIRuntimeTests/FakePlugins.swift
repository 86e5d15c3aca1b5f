import CNIRuntime
import Foundation
import Logging
import OrderedJSON
import TestSupport

/// A temp directory of shell-script plugins, plus a directory where recording plugins leave what they received.
struct FakePlugins {
  let root: TemporaryDirectory
  var pluginDirectory: String { root.appending("bin") }
  var recordDirectory: String { root.appending("records") }
  var cacheDirectory: String { root.appending("cache") }

  /// One plugin call as a recording plugin saw it.
  struct Record {
    var plugin: String
    var command: String
    var environment: [String: String]
    var stdin: JSONValue?
  }

  init() throws {
    root = try TemporaryDirectory(prefix: "cni-fake")
    for directory in [pluginDirectory, recordDirectory] {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
  }

  func remove() { root.remove() }

  /// Installs `/bin/sh` script `body` as plugin `name`.
  @discardableResult
  func install(_ name: String, _ body: String, mode: Int = 0o755) throws -> String {
    let path = "\(pluginDirectory)/\(name)"
    try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    return path
  }

  /// Installs a plugin that records its environment and stdin and prints `result` for ADD (and `{}`-less silence
  /// for everything else), or fails with `failure` JSON and exit 1 for the commands in `failOn`.
  @discardableResult
  func installRecorder(
    _ name: String, result: String? = nil, failOn: Set<String> = [], failure: String = #"{"code":7,"msg":"no"}"#,
    versions: String = #"{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}"#
  ) throws -> String {
    let fails = failOn.sorted().joined(separator: "|")
    let script = """
      rec='\(recordDirectory)'
      n=$(ls "$rec" | wc -l)
      base="$rec/$(printf %06d "$n")-$CNI_COMMAND-\(name)"
      env > "$base.env"
      cat > "$base.json"
      case "$CNI_COMMAND" in
        \(fails.isEmpty ? "NEVER-MATCHES" : fails)) printf '%s' '\(failure)'; exit 1 ;;
        VERSION) printf '%s' '\(versions)' ;;
        ADD) printf '%s' '\(result ?? "")' ;;
      esac
      exit 0
      """
    return try install(name, script)
  }

  /// Every recorded call, in order.
  func records() throws -> [Record] {
    let names = try FileManager.default.contentsOfDirectory(atPath: recordDirectory).filter { $0.hasSuffix(".env") }
      .sorted()
    return try names.map { name in
      let base = String(name.dropLast(4))
      let parts = base.split(separator: "-", maxSplits: 2).map(String.init)
      let envText = try String(contentsOfFile: "\(recordDirectory)/\(name)", encoding: .utf8)
      var environment: [String: String] = [:]
      for line in envText.split(separator: "\n") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
      }
      let stdinBytes = FileManager.default.contents(atPath: "\(recordDirectory)/\(base).json") ?? Data()
      return Record(
        plugin: parts[2], command: parts[1], environment: environment,
        stdin: stdinBytes.isEmpty ? nil : try JSONValue.parse(Array(stdinBytes)))
    }
  }

  /// The real executor over the fake plugins; its runs wait on the calling thread inside ``runs(blocking:_:)``.
  func executor(timeout: Duration = .seconds(30), logger: Logger = Logger(label: "test")) -> PluginExecutor {
    PluginExecutor(
      pluginDirectories: [pluginDirectory], timeout: timeout, logger: logger,
      waiting: TestPluginWaiting.current)
  }

  func config(timeout: Duration = .seconds(30)) -> CNIConfig {
    CNIConfig(executor: executor(timeout: timeout), cacheDirectory: cacheDirectory)
  }
}

/// How the executors that fake plugins hand out wait, for the body of ``runs(blocking:_:)``.
enum TestPluginWaiting {
  @TaskLocal static var current = PluginWaiting.pooledThread
}

/// Runs `body` with fresh fake plugins that are removed afterwards.
@discardableResult
func withFakePlugins<T>(_ body: (FakePlugins) async throws -> T) async throws -> T {
  let plugins = try FakePlugins()
  defer { plugins.remove() }
  return try await body(plugins)
}

/// A small result in 1.0.0 shape for fake plugins to print.
let sampleResult100 = #"""
  {"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"02:00:00:00:00:01","sandbox":"/run/netns/x"}],"ips":[{"interface":0,"address":"10.1.2.3/24","gateway":"10.1.2.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.1.2.1"]}}
  """#
