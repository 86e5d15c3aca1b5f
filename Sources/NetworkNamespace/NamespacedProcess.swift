import CNetShim
import SystemSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A command running inside a network namespace with its parent's stdin, stdout and stderr, in its parent's
/// process group so that it keeps the terminal: a container's process as `cnet run` starts it.
///
/// The child enters the namespace between clone and exec, so no thread of ours ever changes namespace.
public struct NamespacedProcess: Sendable {
  public let pid: pid_t

  /// Starts `path` with `arguments` (the first is argv[0]) and `environment` (`NAME=value`) inside the network
  /// namespace at `namespacePath`. Each of `bindMounts` (source, target) is bound over its target in a private
  /// mount namespace of the child's own, so the host's files stay as they are.
  public static func start(
    path: String, arguments: [String], environment: [String], namespacePath: String,
    bindMounts: [(source: String, target: String)] = []
  ) throws(SystemCallError) -> NamespacedProcess {
    let namespaceFD = open(namespacePath, O_RDONLY | O_CLOEXEC)
    guard namespaceFD >= 0 else { throw SystemCallError(call: "open", path: namespacePath, errno: errno) }
    defer { close(namespaceFD) }
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    let sources = bindMounts.map { UnsafePointer(strdup($0.source)) }
    let targets = bindMounts.map { UnsafePointer(strdup($0.target)) }
    defer {
      sources.forEach { free(UnsafeMutablePointer(mutating: $0)) }
      targets.forEach { free(UnsafeMutablePointer(mutating: $0)) }
    }
    var pid: pid_t = 0
    var step: Int32 = 0
    let code = cnet_spawn_with_mounts(
      path, argv, envp, 0, namespaceFD, 0, 1, 2, sources, targets, Int32(bindMounts.count), &pid, &step)
    guard code == 0 else { throw SystemCallError(call: "run", path: path, errno: code) }
    return NamespacedProcess(pid: pid)
  }

  /// Waits for the process to end, on a thread of its own: waitpid blocks, and no Swift-concurrency thread may.
  public func wait() async throws -> ProcessTermination {
    let pid = self.pid
    return try await withCheckedThrowingContinuation { continuation in
      do {
        try OSThread.start {
          var status: Int32 = 0
          while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
          continuation.resume(returning: ProcessTermination(waitStatus: status))
        }
      } catch {
        continuation.resume(throwing: error)
      }
    }
  }
}
