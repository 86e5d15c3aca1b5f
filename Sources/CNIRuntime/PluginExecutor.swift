import Dispatch
import FoundationEssentials
import Logging
import OrderedJSON
import Synchronization
import SystemSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A CNI operation, as passed in `CNI_COMMAND`.
public enum CNICommand: String, Sendable, Hashable {
  case add = "ADD"
  case del = "DEL"
  case check = "CHECK"
  case gc = "GC"
  case status = "STATUS"
  case version = "VERSION"
}

/// The per-call part of a plugin's environment.
public struct PluginInvocation: Sendable, Hashable {
  public var command: CNICommand
  public var containerID: String
  public var netns: String
  public var ifName: String
  /// The CNI_ARGS text, already joined (see ``RuntimeConf/cniArgsString()``).
  public var cniArgs: String

  public init(
    command: CNICommand, containerID: String = "", netns: String = "", ifName: String = "", cniArgs: String = ""
  ) {
    self.command = command
    self.containerID = containerID
    self.netns = netns
    self.ifName = ifName
    self.cniArgs = cniArgs
  }
}

/// Finds and runs CNI plugin binaries: the part of libcni's `invoke` package.
///
/// Each plugin runs directly (no shell) in its own process group, optionally inside another network namespace,
/// with its stdin fed and its stdout and stderr captured concurrently. A timeout, or the cancellation of the calling
/// task for any command but DEL and GC (cleanup runs to its end), kills the whole group.
public struct PluginExecutor: PluginExecuting {
  /// Directories searched in order for a plugin binary; also passed to plugins as CNI_PATH.
  public var pluginDirectories: [String]
  /// How long one plugin call may take before its process group is killed.
  public var timeout: Duration
  /// A network namespace file (e.g. `/run/netns/host-1`) that plugins run in instead of ours, like Podman's
  /// rootless-netns; nil runs them in our namespace.
  public var pluginNamespacePath: String?
  /// Where plugin stderr of successful calls and other diagnostics go.
  public var logger: Logger
  /// The most bytes kept of each of stdout and stderr; anything beyond is read and dropped.
  public var maximumOutputBytes: Int
  /// Which thread waits for a plugin.
  public var waiting: PluginWaiting

  public init(
    pluginDirectories: [String], timeout: Duration = .seconds(120), pluginNamespacePath: String? = nil,
    logger: Logger = Logger(label: "cni-runtime"), maximumOutputBytes: Int = 16 << 20,
    waiting: PluginWaiting = .pooledThread
  ) {
    self.pluginDirectories = pluginDirectories
    self.timeout = timeout
    self.pluginNamespacePath = pluginNamespacePath
    self.logger = logger
    self.maximumOutputBytes = maximumOutputBytes
    self.waiting = waiting
  }

  /// Starts a pooled thread for the next run now, so that a chain prepared meanwhile need not wait for one to start
  /// (≈ 0.3 ms on the project's 2-core machines). Cheap when an idle one exists; nothing when runs block the caller.
  public func warmUp() {
    guard waiting == .pooledThread else { return }
    OSThreadPool.shared.prestart()
  }

  /// The path of the plugin binary for `type`: the first regular file of that name in ``pluginDirectories``.
  public func findPlugin(_ type: String) throws(CNIError) -> String {
    guard !type.isEmpty, !type.contains("/"), type != ".", type != ".." else {
      throw CNIError(.pluginNotFound, plugin: type, message: "invalid plugin name \"\(type)\": must be a file name")
    }
    for directory in pluginDirectories {
      let candidate = directory.hasSuffix("/") ? directory + type : "\(directory)/\(type)"
      var info = stat()
      if stat(candidate, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG { return candidate }
    }
    throw CNIError(
      .pluginNotFound, plugin: type,
      message: "failed to find plugin \"\(type)\" in path [\(pluginDirectories.joined(separator: " "))]")
  }

  /// Runs the plugin `type` and returns its stdout when it exits 0.
  ///
  /// A non-zero exit is turned into a ``CNIError`` the way Podman reports it: the plugin's error JSON, else its
  /// stdout or stderr text, else how it ended.
  public func execute(_ type: String, invocation: PluginInvocation, stdin: [UInt8]) async throws(CNIError) -> [UInt8] {
    let path = try findPlugin(type)
    return try await execute(type, path: path, invocation: invocation, stdin: stdin)
  }

  func execute(_ type: String, path: String, invocation: PluginInvocation, stdin: [UInt8]) async throws(CNIError)
    -> [UInt8]
  {
    var request = ProcessRequest(
      path: path, arguments: [path], environment: environment(for: invocation), stdin: stdin,
      namespacePath: pluginNamespacePath, timeout: timeout, maximumOutputBytes: maximumOutputBytes)
    request.cancellable = invocation.command != .del && invocation.command != .gc
    request.waiting = waiting
    let output: ProcessOutput
    do {
      output = try await ProcessRunner.run(request)
    } catch let failure as SpawnFailure {
      throw spawnError(failure, type: type, path: path)
    } catch RunInterruption.timedOut(let partial) {
      throw CNIError(
        .timedOut, plugin: type, message: "cni plugin \(type) timed out after \(Self.format(timeout))",
        stdout: Self.text(partial.stdout), stderr: Self.text(partial.stderr))
    } catch RunInterruption.cancelled(let partial) {
      throw CNIError(
        .cancelled, plugin: type, message: "cni plugin \(type) was cancelled",
        stdout: Self.text(partial.stdout), stderr: Self.text(partial.stderr))
    } catch {
      throw CNIError(.execFailed, plugin: type, message: "running cni plugin \(type)", details: "\(error)")
    }
    if output.termination != .exited(0) {
      throw Self.pluginError(type: type, output: output, maximumOutputBytes: maximumOutputBytes)
    }
    if !output.stderr.isEmpty {
      logger.info(
        "cni plugin stderr",
        metadata: [
          "plugin": "\(type)", "command": "\(invocation.command.rawValue)",
          "stderr": "\(Self.text(output.stderr).trimmingWhitespace())",
        ])
    }
    if output.stdoutTruncated {
      throw CNIError(
        .invalidOutput, plugin: type,
        message: "cni plugin \(type) wrote more than \(maximumOutputBytes) bytes to stdout; output truncated")
    }
    return output.stdout
  }

  /// Asks the plugin `type` which spec versions it supports.
  ///
  /// Answers are cached per binary (path and modification time), so repeated questions cost no process.
  public func versionInfo(_ type: String) async throws(CNIError) -> PluginVersionInfo {
    let path = try findPlugin(type)
    let key = PluginVersionCache.key(path: path)
    if let key, let cached = PluginVersionCache.shared.lookup(key) { return cached }
    let stdin = JSONValue.object(["cniVersion": .string(CNIVersion.current)]).serialized()
    // Placeholder values for plugins built against an old skel that insist on these variables (as libcni does).
    let invocation = PluginInvocation(command: .version, netns: "dummy", ifName: "dummy")
    let info: PluginVersionInfo
    do throws(CNIError) {
      let output = try await execute(type, path: path, invocation: invocation, stdin: stdin)
      info = try PluginVersionInfo(json: output)
    } catch let error where error.kind == .pluginFailed && error.message.hasSuffix("unknown CNI_COMMAND: VERSION") {
      // Plugins from before VERSION existed speak 0.1.0 only.
      info = PluginVersionInfo(cniVersion: "0.1.0", supportedVersions: ["0.1.0"])
    }
    if let key { PluginVersionCache.shared.store(info, for: key) }
    return info
  }

  /// Our environment with the CNI variables replaced by this call's.
  func environment(for invocation: PluginInvocation, inherited: [String]? = nil) -> [String] {
    let overrides = [
      ("CNI_COMMAND", invocation.command.rawValue),
      ("CNI_CONTAINERID", invocation.containerID),
      ("CNI_NETNS", invocation.netns),
      ("CNI_IFNAME", invocation.ifName),
      ("CNI_ARGS", invocation.cniArgs),
      ("CNI_PATH", pluginDirectories.joined(separator: ":")),
    ]
    let overridden = Set(overrides.map { $0.0 + "=" })
    var result = (inherited ?? Self.currentEnvironment()).filter { variable in
      guard let equals = variable.firstIndex(of: "=") else { return true }
      return !overridden.contains(String(variable[...equals]))
    }
    result.append(contentsOf: overrides.map { "\($0.0)=\($0.1)" })
    return result
  }

  package static func currentEnvironment() -> [String] {
    var result: [String] = []
    var entry = environ
    while let pointer = entry.pointee {
      result.append(String(cString: pointer))
      entry += 1
    }
    return result
  }

  private func spawnError(_ failure: SpawnFailure, type: String, path: String) -> CNIError {
    let reason = String(cString: strerror(failure.errno))
    switch failure.step {
    case .exec:
      return CNIError(.execFailed, plugin: type, message: "failed to execute cni plugin \(path)", details: reason)
    case .openNamespace, .setns:
      return CNIError(
        .execFailed, plugin: type,
        message: "failed to enter plugin network namespace \(pluginNamespacePath ?? "") for \(path)",
        details: reason)
    case .fork, .setpgid, .dup2, .pipes:
      return CNIError(.execFailed, plugin: type, message: "failed to start cni plugin \(path)", details: reason)
    }
  }

  static func pluginError(type: String, output: ProcessOutput, maximumOutputBytes: Int) -> CNIError {
    let stdoutText = text(output.stdout)
    let stderrText = text(output.stderr)
    let truncation = " (output truncated at \(maximumOutputBytes) bytes)"
    func make(_ code: CNIError.Code? = nil, _ message: String, _ details: String? = nil) -> CNIError {
      CNIError(
        .pluginFailed, plugin: type, code: code, message: message, details: details, stdout: stdoutText,
        stderr: stderrText)
    }
    let trimmedStdout = stdoutText.trimmingWhitespace()
    if trimmedStdout.isEmpty {
      let trimmedStderr = stderrText.trimmingWhitespace()
      if trimmedStderr.isEmpty {
        return make(nil, "cni plugin \(type) failed with no error message: \(output.termination)")
      }
      return make(
        nil, "cni plugin \(type) failed: \(abbreviated(trimmedStderr))\(output.stderrTruncated ? truncation : "")")
    }
    let parsed: JSONValue
    do {
      if output.stdoutTruncated { throw JSONParseError(reason: "output truncated", offset: output.stdout.count) }
      parsed = try JSONValue.parse(output.stdout)
    } catch {
      return make(
        nil,
        "cni plugin \(type) failed but error parsing its diagnostic message \"\(abbreviated(trimmedStdout))\"",
        "\(error)\(output.stdoutTruncated ? truncation : "")")
    }
    guard case .object(let object) = parsed else {
      return make(
        nil,
        "cni plugin \(type) failed but error parsing its diagnostic message \"\(abbreviated(trimmedStdout))\"",
        "expected a JSON object, found \(parsed.kindName)")
    }
    let code = object["code"]?.intValue.map(CNIError.Code.init(rawValue:))
    let message = object["msg"]?.stringValue ?? ""
    let details = object["details"]?.stringValue
    let headline =
      message.isEmpty
      ? "cni plugin \(type) failed: error code \(code?.rawValue ?? 0)" : "cni plugin \(type) failed: \(message)"
    return make(code, headline, details)
  }

  static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

  // Error messages end up in logs and terminals; the full text stays in the error's stdout/stderr fields.
  static func abbreviated(_ text: String, limit: Int = 8192) -> String {
    guard text.utf8.count > limit else { return text }
    return String(decoding: text.utf8.prefix(limit), as: UTF8.self) + "…"
  }

  static func format(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    if attoseconds == 0 { return "\(seconds) s" }
    let value = Double(seconds) + Double(attoseconds) / 1e18
    return "\((value * 1000).rounded() / 1000) s"
  }
}

/// VERSION answers per plugin binary; a replaced binary has a new modification time and is asked again.
final class PluginVersionCache: Sendable {
  static let shared = PluginVersionCache()
  private let entries = Mutex<[String: PluginVersionInfo]>([:])

  static func key(path: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return "\(path)\u{0}\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)\u{0}\(info.st_size)\u{0}\(info.st_ino)"
  }

  func lookup(_ key: String) -> PluginVersionInfo? {
    entries.withLock { $0[key] }
  }

  func store(_ info: PluginVersionInfo, for key: String) {
    entries.withLock { $0[key] = info }
  }
}
