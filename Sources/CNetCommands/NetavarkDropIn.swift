import ArgumentParser
import ContainerNetworkCore
import FoundationEssentials
import Logging
import NativeDataplane
import NetavarkBackend
import NetworkBackendFactory

#if canImport(Glibc)
  import Glibc
#endif

/// `cnet` as netavark 1.4: what runs when cnet is invoked as `netavark` (a symbolic link in Podman's
/// `helper_binaries_dir`) or as `cnet netavark …`.
///
/// Podman 4.3 runs `netavark --config DIR --rootless=false --aardvark-binary=PATH setup|teardown NETNS` with its
/// request on stdin, reads the status of each network from stdout, and on failure reads `{"error":"…"}` from stdout.
/// All of that is netavark's contract, reproduced here byte for byte where Podman reads it; the work itself is a
/// ``NetavarkDataplane``'s. Nothing here reads containers.conf or the network store: the request carries every
/// network whole.
public enum NetavarkDropIn {
  /// Makes the dataplane that does the work, from the global options.
  public typealias DataplaneFactory = @Sendable (NetavarkDropInSettings) throws -> any NetavarkDataplane

  // MARK: - The dataplane

  /// The in-process dataplane, its state files under netavark's `--config` directory (Podman's run directory),
  /// where `cnet --backend native --run-dir DIR gc` finds them; warnings go to stderr, never into the JSON.
  ///
  /// DNS as netavark 1.4 does it: `--aardvark-binary` serves from `<--config>/aardvark-dns` on the port in
  /// `NETAVARK_DNS_PORT` (Podman sets it from `dns_bind_port`), and a binary that does not exist means no DNS.
  public static let nativeDataplane: DataplaneFactory = { settings in
    var logger = Logger(label: "cnet") { _ in StandardErrorLogHandler() }
    logger.logLevel = .warning
    var port = 53
    if let text = getenv("NETAVARK_DNS_PORT").map({ String(cString: $0) }) {
      guard let value = Int(text), (1...65535).contains(value) else {
        throw NetavarkFailure("Invalid NETAVARK_DNS_PORT \(text): invalid digit found in string")
      }
      port = value
    }
    return NativeDataplane(
      configuration: NativeDataplaneConfiguration(
        stateDirectory: NetworkBackendFactory.nativeStateDirectory(runDirectory: settings.configDirectory),
        aardvarkPath: access(settings.aardvarkBinary, F_OK) == 0 ? settings.aardvarkBinary : nil,
        dnsConfigDirectory: "\(settings.configDirectory)/aardvark-dns", dnsPort: port, logger: logger))
  }

  // MARK: -

  /// The environment variable naming a real netavark to hand the work to (``NetavarkProgram``), instead of the
  /// native dataplane: for tests of this command line against Podman, and for comparing the two dataplanes.
  public static let delegateVariable = "CNET_NETAVARK_DELEGATE"

  /// The dataplane cnet uses: a real netavark when ``delegateVariable`` names one, else ``nativeDataplane``.
  public static let defaultDataplane: DataplaneFactory = { settings in
    if let delegate = getenv(delegateVariable).map({ String(cString: $0) }), !delegate.isEmpty {
      return NetavarkProgram(
        netavarkPath: delegate, aardvarkPath: settings.aardvarkBinary, runDirectory: settings.configDirectory)
    }
    return try nativeDataplane(settings)
  }

  /// Whether `programName` (argv[0]) calls for the drop-in: its last path component is `netavark`.
  static func isInvoked(as programName: String) -> Bool {
    programName.split(separator: "/").last == "netavark"
  }

  /// What one run prints and the status it exits with.
  struct Outcome: Equatable, Sendable {
    var status: Int32 = 0
    var standardOutput: [UInt8] = []
    var standardError: [UInt8] = []
  }

  /// Runs netavark's command line `arguments` (without the program name) and returns the process exit status.
  ///
  /// Help, version and usage errors are answered without starting a task; the other commands are cancelled by
  /// SIGINT, SIGTERM or SIGHUP as `cnet setup` is (the dataplane undoes or finishes what it started), and then exit
  /// with 128 + the signal's number.
  static func runBlocking(_ arguments: [String], makeDataplane: @escaping DataplaneFactory = defaultDataplane)
    -> Int32
  {
    let invocation: NetavarkInvocation
    switch NetavarkInvocation.parse(arguments) {
    case .exit(let exit):
      write(Array(exit.text.utf8), to: exit.toStandardError ? 2 : 1)
      return exit.status
    case .invocation(let parsed):
      invocation = parsed
    }
    if invocation.command == .version {
      write(NetavarkOutput.version(), to: 1)
      return 0
    }
    return CNet.waitingFor(interruptible: true) {
      let outcome = await execute(
        invocation, readStandardInput: { try readAll(descriptor: 0) }, makeDataplane: makeDataplane)
      write(outcome.standardOutput, to: 1)
      write(outcome.standardError, to: 2)
      // The status travels as an ExitCode, which CNet.exitStatus passes on without printing anything.
      if outcome.status != 0 { throw ExitCode(outcome.status) }
    }
  }

  /// Runs `arguments` and returns what netavark would print and its status, reading stdin with `readStandardInput`
  /// (only setup and teardown without `--file` read it).
  static func run(
    _ arguments: [String], readStandardInput: () throws -> [UInt8], makeDataplane: DataplaneFactory
  ) async -> Outcome {
    switch NetavarkInvocation.parse(arguments) {
    case .exit(let exit):
      let text = Array(exit.text.utf8)
      return Outcome(
        status: exit.status, standardOutput: exit.toStandardError ? [] : text,
        standardError: exit.toStandardError ? text : [])
    case .invocation(let invocation):
      return await execute(invocation, readStandardInput: readStandardInput, makeDataplane: makeDataplane)
    }
  }

  /// Runs a parsed invocation; every failure becomes netavark's `{"error":"…"}` on stdout with status 1.
  static func execute(
    _ invocation: NetavarkInvocation, readStandardInput: () throws -> [UInt8], makeDataplane: DataplaneFactory
  ) async -> Outcome {
    do {
      switch invocation.command {
      case .setup(let namespacePath):
        // netavark looks at the namespace before it reads the request, and says so in these words.
        var info = stat()
        if stat(namespacePath, &info) != 0 {
          throw NetavarkFailure("invalid namespace path: IO error: \(NetavarkFailure.ioText(errno))")
        }
        let request = try loadRequest(invocation.file, readStandardInput)
        let statuses = try await makeDataplane(invocation.settings).setup(
          namespacePath: namespacePath, request: request)
        return Outcome(standardOutput: NetavarkOutput.statuses(statuses, order: request.options.networks.map(\.name)))
      case .teardown(let namespacePath):
        let request = try loadRequest(invocation.file, readStandardInput)
        try await makeDataplane(invocation.settings).teardown(namespacePath: namespacePath, request: request)
        return Outcome()
      case .update(let network, let servers):
        try await makeDataplane(invocation.settings).updateDNSServers(network: network, servers: servers)
        return Outcome()
      case .version:
        return Outcome(standardOutput: NetavarkOutput.version())
      }
    } catch {
      return Outcome(status: 1, standardOutput: NetavarkOutput.error(NetavarkFailure.message(for: error)))
    }
  }

  /// The request from `--file`, else from stdin, in netavark's words when it cannot be read.
  private static func loadRequest(_ file: String?, _ readStandardInput: () throws -> [UInt8]) throws -> NetavarkRequest
  {
    let prefix = "failed to load network options: IO error: "
    let bytes: [UInt8]
    do {
      if let file {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw NetavarkFailure(NetavarkFailure.ioText(errno)) }
        defer { close(descriptor) }
        bytes = try readAll(descriptor: descriptor)
      } else {
        bytes = try readStandardInput()
      }
    } catch let failure as NetavarkFailure {
      throw NetavarkFailure(prefix + failure.message)
    }
    do {
      return try JSONDecoder().decode(NetavarkRequest.self, from: Data(bytes))
    } catch let error as DecodingError {
      throw NetavarkFailure(prefix + NetavarkFailure.describe(error))
    }
  }

  /// Everything `descriptor` yields up to its end.
  static func readAll(descriptor: Int32) throws -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw NetavarkFailure(NetavarkFailure.ioText(errno))
      }
      if count == 0 { return bytes }
      bytes.append(contentsOf: chunk[0..<count])
      // A request is a few KiB; a stream that goes on and on is not one.
      guard bytes.count <= 64 << 20 else { throw NetavarkFailure("input is larger than 64 MiB") }
    }
  }

  /// Writes all of `bytes` to `descriptor`; a reader that went away ends the write (SIGPIPE is ignored).
  private static func write(_ bytes: [UInt8], to descriptor: Int32) {
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { return }
      offset += count
    }
  }
}

/// A failure of the drop-in itself, with netavark's message.
struct NetavarkFailure: Error, Equatable {
  var message: String

  init(_ message: String) { self.message = message }

  /// An errno as Rust's `io::Error` prints it, which is what netavark's messages carry.
  static func ioText(_ code: Int32) -> String {
    "\(String(cString: strerror(code))) (os error \(code))"
  }

  /// The one line of `error` that goes into `{"error":"…"}`.
  static func message(for error: any Error) -> String {
    switch error {
    case let failure as NetavarkFailure: failure.message
    case let error as NetworkError: error.message
    // A delegated netavark's own message passes through unchanged, as Podman would have seen it.
    case let error as NetavarkError: error.message
    case is CancellationError: "cancelled"
    default: String(describing: error)
    }
  }

  /// A decoding failure in a line, in the spirit of serde's messages (`missing field `container_id``).
  static func describe(_ error: DecodingError) -> String {
    func located(_ text: String, _ context: DecodingError.Context) -> String {
      let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
      return path.isEmpty ? text : "\(text) at \(path)"
    }
    switch error {
    case .keyNotFound(let key, let context): return located("missing field `\(key.stringValue)`", context)
    case .typeMismatch(_, let context), .valueNotFound(_, let context):
      return located("invalid type: \(context.debugDescription)", context)
    case .dataCorrupted(let context):
      var text = context.debugDescription
      if let underlying = context.underlyingError { text += " (\(underlying))" }
      return located(text, context)
    @unknown default:
      return "\(error)"
    }
  }
}
