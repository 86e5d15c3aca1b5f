import CNIRuntime
import ContainerNetworkCore
import FoundationEssentials
import OrderedJSON
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// A failed run of netavark: its own error text when it printed one (`{"error": …}` on stdout), else how it ended.
public struct NetavarkError: Error, Sendable, CustomStringConvertible {
  /// `setup`, `teardown` or `update`.
  public var command: String
  /// netavark's message, or a description of the exit, timeout or spawn failure.
  public var message: String
  /// How the process ended; nil when it never ran.
  public var termination: ProcessTermination?
  /// The last of what it wrote to stderr, for the log.
  public var stderr: String

  public var description: String { "netavark \(command): \(message)" }
}

/// The real netavark: each setup and teardown runs the program with the request on stdin, exactly as Podman runs
/// it (`netavark --config RUN_DIR --rootless=false --aardvark-binary=PATH setup|teardown NETNS`).
public struct NetavarkProgram: NetavarkDataplane {
  public var netavarkPath: String
  public var aardvarkPath: String
  /// netavark's `--config`: where it keeps aardvark-dns's configuration.
  public var runDirectory: String
  public var timeout: Duration
  /// A network namespace to run netavark in instead of ours (tests' private host).
  public var hostNamespacePath: String?

  public init(
    netavarkPath: String, aardvarkPath: String, runDirectory: String, timeout: Duration = .seconds(60),
    hostNamespacePath: String? = nil
  ) {
    self.netavarkPath = netavarkPath
    self.aardvarkPath = aardvarkPath
    self.runDirectory = runDirectory
    self.timeout = timeout
    self.hostNamespacePath = hostNamespacePath
  }

  public func setup(namespacePath: String, request: NetavarkRequest) async throws -> [String: StatusBlock] {
    let output = try await run(["setup", namespacePath], stdin: try request.encodedJSON(), cancellable: true)
    do {
      return try JSONDecoder().decode([String: StatusBlock].self, from: Data(output))
    } catch {
      throw NetavarkError(
        command: "setup", message: "unreadable answer: \(error)", termination: .exited(0), stderr: "")
    }
  }

  public func teardown(namespacePath: String, request: NetavarkRequest) async throws {
    _ = try await run(["teardown", namespacePath], stdin: try request.encodedJSON(), cancellable: false)
  }

  public func updateDNSServers(network: String, servers: [String]) async throws {
    _ = try await run(
      ["update", "--network-dns-servers", servers.joined(separator: ","), network], stdin: [], cancellable: false)
  }

  private func run(_ command: [String], stdin: some Collection<UInt8>, cancellable: Bool) async throws -> [UInt8] {
    let name = command[0]
    var request = ProcessRequest(
      path: netavarkPath,
      arguments: [
        netavarkPath, "--config", runDirectory, "--rootless=false", "--aardvark-binary=\(aardvarkPath)",
      ] + command,
      environment: PluginExecutor.currentEnvironment(), stdin: Array(stdin), namespacePath: hostNamespacePath,
      timeout: timeout, maximumOutputBytes: 4 << 20)
    // Teardown and update run to their end even when the caller is cancelled: a half-removed container is worse.
    request.cancellable = cancellable
    do {
      return try await ProcessRunner.runHelper(request).stdout
    } catch {
      switch error {
      case .notStarted(let failure):
        throw NetavarkError(
          command: name, message: "cannot run \(netavarkPath): \(String(cString: strerror(failure.errno)))",
          termination: nil, stderr: "")
      case .interrupted(.timedOut(let output)):
        throw NetavarkError(
          command: name, message: "timed out after \(timeout); its process group was killed",
          termination: output.termination, stderr: Self.text(output.stderr))
      case .interrupted(.cancelled(let output)):
        throw NetavarkError(
          command: name, message: "cancelled; its process group was killed", termination: output.termination,
          stderr: Self.text(output.stderr))
      case .failed(let output):
        var message = "\(output.termination)"
        if let error = try? JSONDecoder().decode([String: String].self, from: Data(output.stdout)),
          let text = error["error"]
        {
          message = text
        } else if !output.stderr.isEmpty {
          message += ": \(Self.text(output.stderr))"
        }
        throw NetavarkError(
          command: name, message: message, termination: output.termination, stderr: Self.text(output.stderr))
      }
    }
  }

  /// The last line-ish part of a program's output, control characters removed, for one-line messages.
  static func text(_ bytes: [UInt8]) -> String {
    let text = String(decoding: bytes.suffix(2048), as: UTF8.self)
    return String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
      .trimmingWhitespace()
  }
}
