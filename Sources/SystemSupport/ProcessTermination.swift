#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// How a child process ended: the one decoding of a wait status, for plugin runs and for `cnet run`'s command.
public enum ProcessTermination: Sendable, Equatable, CustomStringConvertible {
  case exited(Int32)
  case signaled(Int32)

  /// Decodes what waitpid(2) stored (WIFEXITED and friends are macros the importer cannot see).
  public init(waitStatus status: Int32) {
    let signal = status & 0x7F
    self = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
  }

  /// The status a shell reports: the exit status, or 128 + the signal's number.
  public var shellStatus: Int32 {
    switch self {
    case .exited(let status): status
    case .signaled(let signal): 128 + signal
    }
  }

  /// As Go's os/exec says it, which Podman's messages quote: `exit status 1`, `signal: killed`.
  public var description: String {
    switch self {
    case .exited(let status): "exit status \(status)"
    case .signaled(let signal): "signal: \(Self.signalName(signal))"
    }
  }

  static func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGKILL: "killed"
    case SIGTERM: "terminated"
    case SIGSEGV: "segmentation fault"
    case SIGABRT: "aborted"
    case SIGPIPE: "broken pipe"
    case SIGINT: "interrupt"
    default: "signal \(signal)"
    }
  }
}
