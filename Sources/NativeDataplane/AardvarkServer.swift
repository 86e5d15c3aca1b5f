import CNIRuntime
import ContainerNetworkCore
import Logging
import NetworkAddress
import OrderedJSON
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The aardvark-dns process that serves one configuration directory, as netavark 1.4 runs it: started as
/// `aardvark-dns --config DIR -p PORT run` in the host namespace (under `systemd-run --scope` when systemd is the
/// init), after which it forks, the child calls setsid, writes `DIR/aardvark.pid` and serves while the parent exits;
/// told of every change with SIGHUP, on which it reads the whole directory again, and exits (removing its pid file)
/// when the directory holds no network file any more.
///
/// aardvark-dns has two windows in which a SIGHUP goes wrong: between writing its pid file and installing its
/// handler a SIGHUP kills it, and during a reload one is lost. So every call here waits, still under the commit lock,
/// until the server is past them: handler installed, new sockets open, and the given addresses bound.
struct AardvarkServer: Sendable {
  var binary: String
  var directory: AardvarkConfigDirectory
  var port: Int
  /// The namespace it runs in: the dataplane's host.
  var hostNamespacePath: String?
  var logger: Logger
  /// How long a start or a reload may take before the server is taken for broken.
  var patience: Duration = .seconds(5)

  /// The pid of this directory's running server, nil when none runs: the pid file's process, if it lives and was
  /// started for this directory (a pid can be reused after a crash).
  func runningPID() -> pid_t? {
    guard let bytes = try? RegularFile.read(path: directory.pidPath, limit: 64),
      let pid = pid_t(String(decoding: bytes, as: UTF8.self).trimmingWhitespace()), pid > 0,
      Self.isAlive(pid), let arguments = ProcFile.read("/proc/\(pid)/cmdline")
    else { return nil }
    return arguments.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == directory.path }
      ? pid : nil
  }

  /// After a change to the directory: reloads the running server, or starts one when `start` allows; returns once it
  /// listens on every address of `addresses`.
  func apply(listeningOn addresses: [IPAddress], start: Bool) async throws(NetworkError) {
    let expected = Set(addresses.map { ProcessSockets.Endpoint(address: $0, port: UInt16(port)) })
    if let pid = runningPID() {
      let before = ProcessSockets.inodes(of: pid)
      guard kill(pid, SIGHUP) == 0 || errno == ESRCH else {
        let error = SystemCallError(call: "kill", path: nil, errno: errno)
        throw NetworkError(.io, "cannot signal aardvark-dns (pid \(pid)): \(error)", causes: [error])
      }
      if Self.isAlive(pid) {
        try await waitUntilServing(pid: pid, expected: expected, after: before, what: "reloading")
        return
      }
    }
    guard start else { return }
    try await launch(expected: expected)
  }

  /// Tells the running server that the directory holds no network any more and waits for it to exit; one that
  /// does not is terminated. No error: the containers are gone either way.
  func stop() async {
    guard let pid = runningPID() else { return }
    kill(pid, SIGHUP)
    if await Self.poll(for: patience, { !Self.isAlive(pid) }) { return }
    logger.warning("aardvark-dns (pid \(pid)) did not exit with its configuration empty: terminating it")
    kill(pid, SIGTERM)
  }

  private func launch(expected: Set<ProcessSockets.Endpoint>) async throws(NetworkError) {
    let daemon = [binary, "--config", directory.path, "-p", "\(port)", "run"]
    var arguments = daemon
    // As netavark: under systemd the server gets a scope of its own, so that stopping the unit that started a
    // container (the engine's) does not stop every container's DNS.
    if access("/run/systemd/system", F_OK) == 0, let systemdRun = Self.inPath("systemd-run") {
      arguments = [systemdRun, "-q", "--scope"] + daemon
    }
    var request = ProcessRequest(
      path: arguments[0], arguments: arguments, environment: PluginExecutor.currentEnvironment(), stdin: [],
      namespacePath: hostNamespacePath, timeout: patience, maximumOutputBytes: 64 << 10)
    // Once it has started, it serves every container: it runs to its end even when the caller is cancelled.
    request.cancellable = false
    do {
      _ = try await ProcessRunner.runHelper(request)
    } catch {
      switch error {
      case .notStarted(let failure):
        throw NetworkError(
          .pluginFailed, "cannot start aardvark-dns \(binary): \(String(cString: strerror(failure.errno)))",
          causes: [failure])
      case .interrupted(let interruption):
        throw NetworkError(
          .pluginFailed, "aardvark-dns \(binary) did not start within \(patience)", causes: [interruption])
      case .failed(let output):
        let text = String(decoding: output.stderr.suffix(512), as: UTF8.self).trimmingWhitespace()
        throw NetworkError(
          .pluginFailed,
          "aardvark-dns \(binary) failed to start (\(output.termination))\(text.isEmpty ? "" : ": \(text)")")
      }
    }
    guard let pid = runningPID() else {
      throw NetworkError(.pluginFailed, "aardvark-dns \(binary) exited without leaving a server for \(directory.path)")
    }
    do throws(NetworkError) {
      // It writes its pid file before it installs its SIGHUP handler; until then a SIGHUP (ours or another
      // process's) would kill it.
      guard await Self.poll(for: patience, { Self.catchesHangup(pid) || !Self.isAlive(pid) }), Self.isAlive(pid)
      else {
        throw NetworkError(.pluginFailed, "aardvark-dns (pid \(pid)) stopped right after starting")
      }
      try await waitUntilServing(pid: pid, expected: expected, after: [], what: "starting")
    } catch {
      // A server that does not serve is not left behind: the setup fails, and the next one starts another.
      kill(pid, SIGKILL)
      throw error
    }
  }

  /// Waits until `pid` holds sockets it did not hold `before` (a reload opens all of them anew, the first being its
  /// signal pipe: from then on a SIGHUP is seen) and has bound every `expected` address among them.
  private func waitUntilServing(
    pid: pid_t, expected: Set<ProcessSockets.Endpoint>, after before: Set<UInt64>, what: String
  ) async throws(NetworkError) {
    var bound: Set<ProcessSockets.Endpoint> = []
    let ready = await Self.poll(for: patience) {
      guard Self.isAlive(pid) else { return true }
      let fresh = ProcessSockets.inodes(of: pid).subtracting(before)
      guard !fresh.isEmpty else { return false }
      if expected.isEmpty { return true }
      bound = ProcessSockets.boundUDP(of: pid, inodes: fresh)
      return expected.isSubset(of: bound)
    }
    guard Self.isAlive(pid) else {
      throw NetworkError(
        .pluginFailed,
        "aardvark-dns (pid \(pid)) exited while \(what): it could not read its configuration in \(directory.path)")
    }
    guard ready else {
      let missing = expected.subtracting(bound).map { "\($0.address):\($0.port)" }.sorted()
      throw NetworkError(
        .pluginFailed,
        "aardvark-dns (pid \(pid)) does not listen on \(missing.joined(separator: ", ")) after \(what) for \(patience): is another DNS server using that port?"
      )
    }
  }

  // MARK: Processes

  /// Whether `pid` exists and is not a zombie (the server is not our child, and whoever reaps it may be slow).
  static func isAlive(_ pid: pid_t) -> Bool {
    guard let bytes = ProcFile.read("/proc/\(pid)/stat") else { return false }
    // `pid (comm) S …`: the state follows the last parenthesis (comm may hold any character).
    guard let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 2 < bytes.count else { return false }
    let state = bytes[close + 2]
    return state != UInt8(ascii: "Z") && state != UInt8(ascii: "X")
  }

  /// Whether `pid` has a handler for SIGHUP (`SigCgt` in /proc/<pid>/status).
  static func catchesHangup(_ pid: pid_t) -> Bool {
    guard let bytes = ProcFile.read("/proc/\(pid)/status") else { return false }
    let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("SigCgt:") }
    guard let mask = line.flatMap({ UInt64($0.dropFirst(7).trimmingWhitespace(), radix: 16) }) else {
      return false
    }
    return mask & (1 << (UInt64(SIGHUP) - 1)) != 0
  }

  static func inPath(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/sbin:/usr/bin:/sbin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
  }

  /// Checks `condition` every 2 ms until it holds or `limit` has passed; whether it held.
  static func poll(for limit: Duration, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
      guard ContinuousClock.now < deadline else { return false }
      await pause(.milliseconds(2))
    }
    return true
  }

  /// Sleeps without holding a Swift-concurrency thread; a cancelled task's sleep returns at once, and then this one
  /// blocks instead, because what waits here (a teardown, a started server) must finish.
  static func pause(_ duration: Duration) async {
    if (try? await Task.sleep(for: duration)) == nil {
      usleep(UInt32(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
    }
  }
}
