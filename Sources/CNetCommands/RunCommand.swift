import ArgumentParser
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import NetworkNamespace
import Synchronization
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

struct Run: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a command in a fresh network namespace attached to networks; exits with its status.")

  @OptionGroup var global: GlobalOptions
  @Option(name: CommandFlag.network.names, help: "\(CommandFlag.network.help.abstract) Default: the default network.")
  var network: [String] = []
  @Option(name: CommandFlag.publish.names, help: CommandFlag.publish.help) var publish: [String] = []
  @Option(help: "Container name (its DNS name).") var name: String?
  @Option(name: CommandFlag.containerID.names, help: "\(CommandFlag.containerID.help.abstract) Default: random.")
  var containerID: String?
  // Only after `--`: flags before it stay cnet's own (so `cnet run --help` and a mistyped flag behave as elsewhere).
  @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

  func run() async throws {
    let arguments = command.first == "--" ? Array(command.dropFirst()) : command
    guard let executable = arguments.first else { throw ValidationError("run needs a command after --") }
    let path = try Self.resolve(executable)
    let id = containerID ?? Self.randomID()
    // The namespace file is named after the ID: an ID with `/` or `..` would create it anywhere.
    try NameValidation.validateContainerID(id)
    let attachment = AttachmentSettings(
      containerID: id, containerName: name ?? "cnet-\(id.prefix(12))", network: network, publish: publish)
    let backend = try global.makeBackend()
    let options = try attachment.networkOptions(defaultNetwork: backend.defaultNetworkName)

    // Signals are caught from here on, so that an interrupt at any point still tears down what was set up.
    let signals = SignalForwarder()
    let namespacePath = try NetworkNamespace.create(named: "cnet-\(id.prefix(12))")
    var status: Int32 = 125
    var failure: (any Error)?
    do {
      // Setup brings lo up too, as in a Podman container.
      let statuses = try await backend.setup(namespacePath: namespacePath, options: options)
      if let early = signals.received {
        status = 128 + early
      } else {
        let files = try ContainerFiles(
          containerID: id, containerName: attachment.containerName ?? "", statuses: statuses)
        defer { files.remove() }
        status = try await Self.spawnAndWait(
          path: path, arguments: arguments, namespacePath: namespacePath, bindMounts: files.bindMounts,
          signals: signals)
      }
    } catch {
      failure = error
    }
    do {
      try await backend.teardown(namespacePath: namespacePath, options: options)
    } catch {
      failure = failure ?? error
    }
    try? NetworkNamespace.remove(at: namespacePath)
    if let failure { throw failure }
    throw ExitCode(status)
  }

  /// Runs the command inside the namespace with our stdin, stdout and stderr, forwarding signals to it; returns its
  /// status as a shell reports it.
  static func spawnAndWait(
    path: String, arguments: [String], namespacePath: String, bindMounts: [(source: String, target: String)],
    signals: SignalForwarder
  ) async throws -> Int32 {
    let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
    let child: NamespacedProcess
    do {
      child = try NamespacedProcess.start(
        path: path, arguments: arguments, environment: environment, namespacePath: namespacePath,
        bindMounts: bindMounts)
    } catch {
      throw NetworkError(.io, "cannot run \(path): \(String(cString: strerror(error.errno)))", causes: [error])
    }
    signals.forward(to: child.pid)
    defer { signals.forward(to: nil) }
    return try await child.wait().shellStatus
  }

  static func resolve(_ executable: String) throws -> String {
    if executable.contains("/") {
      // Checked before anything is attached: a missing command must not cost a setup and a teardown.
      guard access(executable, X_OK) == 0 else {
        throw NetworkError(.invalidArgument, "\(executable): \(String(cString: strerror(errno)))")
      }
      return executable
    }
    let path =
      ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    for directory in path.split(separator: ":") where access("\(directory)/\(executable)", X_OK) == 0 {
      return "\(directory)/\(executable)"
    }
    throw NetworkError(.invalidArgument, "\(executable): executable file not found in $PATH")
  }

  static func randomID() -> String {
    (0..<32).map { _ in
      let byte = UInt8.random(in: 0...255)
      return (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }.joined()
  }
}

/// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT for the CLI's lifetime and passes them on to the running command.
final class SignalForwarder: @unchecked Sendable {
  /// The process that gets the signals, and the first signal that arrived while there was none.
  private let state = Mutex<(child: pid_t?, first: Int32?)>((nil, nil))
  private var sources: [any DispatchSourceSignal] = []

  init() {
    for number in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
      // The CLI owns its process: ignoring the default action here is what lets teardown run after a signal.
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { [weak self] in self?.deliver(number) }
      source.resume()
      sources.append(source)
    }
  }

  /// The first signal that arrived while no command ran.
  var received: Int32? { state.withLock { $0.first } }

  /// Sets the process that gets the signals from now on; a signal that arrived before it started is passed on now,
  /// so that an interrupt between setup and spawn is not lost.
  func forward(to pid: pid_t?) {
    let pending = state.withLock { state in
      state.child = pid
      defer { state.first = nil }
      return state.first
    }
    if let pid, let pending { kill(pid, pending) }
  }

  private func deliver(_ number: Int32) {
    let target = state.withLock { state in
      if state.child == nil && state.first == nil { state.first = number }
      return state.child
    }
    if let target { kill(target, number) }
  }
}

/// The container's own /etc/resolv.conf and /etc/hosts for `cnet run`, in a temporary directory, bound over the
/// host's in the command's private mount namespace.
struct ContainerFiles {
  let directory: String
  let bindMounts: [(source: String, target: String)]

  init(containerID: String, containerName: String, statuses: [String: StatusBlock]) throws {
    var template = Array("\(ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp")/cnet-run.XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw NetworkError(
        .io, "cannot create a directory for the container's /etc files: \(String(cString: strerror(errno)))")
    }
    directory = String(cString: made)
    let host = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
    let files = [
      ("resolv.conf", ContainerDNSFiles.resolvConf(statuses: statuses, hostResolvConf: host)),
      ("hosts", ContainerDNSFiles.hosts(containerName: containerName, containerID: containerID, statuses: statuses)),
    ]
    var mounts: [(source: String, target: String)] = []
    for (name, contents) in files {
      let source = "\(directory)/\(name)"
      try AtomicFile.write(Array(contents.utf8), to: source, mode: 0o644)
      // A host without the file has nothing to bind over; the command then sees none, as it would anyway.
      if access("/etc/\(name)", F_OK) == 0 { mounts.append((source, "/etc/\(name)")) }
    }
    bindMounts = mounts
  }

  func remove() {
    for name in ["resolv.conf", "hosts"] { unlink("\(directory)/\(name)") }
    rmdir(directory)
  }
}
