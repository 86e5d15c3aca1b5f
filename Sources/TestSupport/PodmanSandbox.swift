import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Private mount and network namespaces held open by a `sleep`, in which podman runs with all of its state in one
/// temporary directory. ``stop()`` removes containers and networks, then ends the holder.
///
/// Processes are started with posix_spawn and every descriptor above 2 closed, not with Foundation's Process: a
/// detached container's conmon inherits whatever descriptors podman has, and Process learns of a child's exit
/// through a socket its child inherits, so it would wait for the container (and tests running alongside would
/// wait for it too).
public final class PodmanSandbox: @unchecked Sendable {
  public let directory: TemporaryDirectory
  private var holder: pid_t = 0

  /// The private network namespace podman's containers and rules live in.
  public var networkNamespacePath: String { "/proc/\(holder)/ns/net" }
  /// The process whose mount and network namespaces Podman runs in, for another program to enter (`nsenter -t`).
  public var holderPID: pid_t { holder }
  /// Networks and containers that ``stop()`` removes.
  public var networks: [String] = []
  public var containers: [String] = []
  /// Variables podman gets on top of ours, e.g. `CONTAINERS_CONF` for a containers.conf of the test's.
  public var environment: [String: String] = [:]

  /// A busybox root file system for `podman run --rootfs`.
  public var rootfs: String { directory.appending("rootfs") }
  /// Podman's IPAM database; its directory is what Podman sees as /run/containers/networks.
  public var ipamPath: String { directory.appending("netrun/ipam.db") }

  public init(directory: TemporaryDirectory) throws {
    self.directory = directory
    let files = FileManager.default
    for name in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
      try files.createDirectory(atPath: "\(directory.path)/rootfs/\(name)", withIntermediateDirectories: true)
    }
    for name in ["netrun", "net", "root", "runroot", "tmp"] {
      try files.createDirectory(atPath: directory.appending(name), withIntermediateDirectories: true)
    }
    try files.copyItem(atPath: "/bin/busybox", toPath: "\(rootfs)/bin/busybox")
    for tool in ["sleep", "sh", "ip", "true", "cat"] {
      try files.createSymbolicLink(atPath: "\(rootfs)/bin/\(tool)", withDestinationPath: "busybox")
    }

    let ready = directory.appending("ready")
    let script = """
      mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/containers/networks /run/netns &&
        mount --bind "$1" /run/containers/networks && ip link set lo up && touch "$2" && exec sleep 600
      """
    holder = try spawn(
      [
        "/usr/bin/unshare", "--mount", "--net", "--propagation", "private", "/bin/sh", "-c", script, "sh",
        directory.appending("netrun"), ready,
      ], output: directory.appending("holder.out"))
    let deadline = Date().addingTimeInterval(10)
    while !files.fileExists(atPath: ready) {
      var status: Int32 = 0
      guard waitpid(holder, &status, WNOHANG) == 0, Date() < deadline else {
        let reason = (try? String(contentsOfFile: directory.appending("holder.out"), encoding: .utf8)) ?? ""
        stop()
        throw SandboxError(description: "the namespace holder did not start: \(reason)")
      }
      usleep(10_000)
    }
  }

  /// Runs podman in the namespaces with every directory it would write to inside ours.
  @discardableResult
  public func podman(_ arguments: [String], check: Bool = true) throws -> CommandResult {
    let global = [
      "--root", directory.appending("root"), "--runroot", directory.appending("runroot"), "--tmpdir",
      directory.appending("tmp"), "--network-backend", "netavark", "--network-config-dir", directory.appending("net"),
      "--cgroup-manager", "cgroupfs", "--events-backend", "none", "--runtime", "runc",
    ]
    let output = directory.appending("podman.out")
    let errors = directory.appending("podman.err")
    let pid = try spawn(
      ["/usr/bin/nsenter", "-t", "\(holder)", "-m", "-n", "podman"] + global + arguments, output: output,
      errors: errors, environment: environment)
    let result = CommandResult(
      status: wait(for: pid), stdout: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
    guard !check || result.status == 0 else {
      throw SandboxError(
        description: "podman \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
    }
    return result
  }

  public func stop() {
    guard holder > 0 else { return }
    for id in containers { _ = try? podman(["rm", "-f", "-t", "0", id], check: false) }
    for name in networks { _ = try? podman(["network", "rm", "-f", name], check: false) }
    // Should podman have failed to remove a container, end its conmon and process by the pids podman recorded, so
    // nothing of this test outlives it.
    let listed = (try? podman(["ps", "-a", "-q", "--no-trunc"], check: false))?.stdout ?? ""
    for id in containers where listed.contains(id) {
      let userdata = directory.appending("runroot/overlay-containers/\(id)/userdata")
      for file in ["pidfile", "conmon.pid"] {
        let text = (try? String(contentsOfFile: "\(userdata)/\(file)", encoding: .utf8)) ?? ""
        if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 { kill(pid, SIGKILL) }
      }
    }
    kill(holder, SIGKILL)
    _ = wait(for: holder)
    holder = 0
  }
}

private struct SandboxError: Error, CustomStringConvertible {
  var description: String
}

/// Starts `arguments` with stdin from /dev/null, stdout to `output`, stderr to `errors` (or `output`), and no other
/// descriptor; `environment` is set over ours.
private func spawn(
  _ arguments: [String], output: String, errors: String? = nil, environment: [String: String] = [:]
) throws -> pid_t {
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  if let errors {
    posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  } else {
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
  }
  guard let closeFrom = addCloseFrom else {
    throw SandboxError(description: "posix_spawn_file_actions_addclosefrom_np needs glibc 2.34 or later")
  }
  _ = closeFrom(&actions, 3)
  let argv = arguments.map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let envp = environment.isEmpty ? [] : merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
  defer { envp.forEach { free($0) } }
  var pid: pid_t = 0
  let code =
    environment.isEmpty
    ? posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
    : posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
  guard code == 0 else {
    throw SandboxError(description: "cannot start \(arguments[0]): \(String(cString: strerror(code)))")
  }
  return pid
}

/// glibc's posix_spawn_file_actions_addclosefrom_np, looked up at run time: Swift's Glibc module does not declare it.
private let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
  guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
  return unsafeBitCast(
    symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()

/// Waits for `pid` and returns its exit status, or 128 + the signal that ended it.
private func wait(for pid: pid_t) -> Int32 {
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 {
    guard errno == EINTR else { return -1 }
  }
  return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
}
