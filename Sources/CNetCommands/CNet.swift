import ArgumentParser
import CNIRuntime
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The `cnet` command: Podman-style network management, setup and teardown, and `cnet run`.
public struct CNet: AsyncParsableCommand {
  public static let version = "0.1.0"

  public static let configuration = CommandConfiguration(
    commandName: "cnet",
    abstract: "Container networking for Linux: manage networks and attach network namespaces to them.",
    discussion: """
      Networks are stored in Podman's formats (CNI conflists, or netavark's JSON with --backend netavark or \
      native), so podman and cnet see the same networks. Podman's spelling works too: `cnet network ls`.

      Environment: CNET_BACKEND, CNET_CONFIG_DIR, CNET_PLUGIN_DIRS (colon-separated), CNET_CACHE_DIR, \
      CNET_RUN_DIR, CNET_PLUGIN_TIMEOUT and CNET_LOG_LEVEL set the defaults of the global options. \
      CNET_HOST_LOCAL_DIR sets host-local's reservation directory; CNET_HOST_NETNS runs the plugins in that \
      network namespace instead of the host's (both for tests).

      Invoked as `netavark` (a symbolic link in Podman's helper_binaries_dir) or as `cnet netavark …`, cnet speaks \
      netavark 1.4's command line and JSON, so that Podman can use it as its netavark. CNET_NETAVARK_DELEGATE \
      hands that work to the netavark program it names.
      """,
    version: version,
    subcommands: [
      Create.self, List.self, Inspect.self, Remove.self, Prune.self, Exists.self, Update.self, Setup.self,
      Teardown.self, Connect.self, Disconnect.self, Run.self, GarbageCollect.self, Reload.self, Info.self, Version.self,
      Completion.self,
    ])

  public init() {}

  /// Parses the command line, runs the command, and returns the process exit status.
  ///
  /// Everything runs on the calling thread (the main thread): parsing, and the command's task through
  /// ``SerialThreadExecutor``. `setup` and `teardown` in their usual spellings skip ArgumentParser
  /// (``AttachmentInvocation``).
  ///
  /// An `async` main ends the main thread with `pthread_exit`; in a static executable its stack unwinding first
  /// sorts every unwind-table entry of the binary, about 30 ms per run. Running here and calling `exit` avoids it.
  ///
  /// Errors print as one line `Error: <message>` on stderr with status 125 (Podman's convention); bad flags print
  /// the usage message.
  ///
  /// When `programName` (argv[0]) ends in `netavark`, or the first argument is `netavark`, the rest is netavark's
  /// command line instead (``NetavarkDropIn``), with netavark's output and statuses.
  public static func runBlocking(
    arguments: [String] = Array(CommandLine.arguments.dropFirst()),
    programName: String = CommandLine.arguments.first ?? "cnet"
  ) -> Int32 {
    // A reader that goes away must not kill us with SIGPIPE; writes then fail with EPIPE instead.
    signal(SIGPIPE, SIG_IGN)
    if NetavarkDropIn.isInvoked(as: programName) { return NetavarkDropIn.runBlocking(arguments) }
    if arguments.first == "netavark" { return NetavarkDropIn.runBlocking(Array(arguments.dropFirst())) }
    let arguments = droppingNetworkWord(arguments)
    if let invocation = AttachmentInvocation.parse(arguments) {
      return waitingFor(interruptible: true) { try await invocation.run() }
    }
    let command: ParsableCommand
    do {
      command = try parseAsRoot(movingGlobalOptions(arguments))
    } catch {
      return exitStatus(reporting: error)
    }
    guard let asyncCommand = command as? AsyncParsableCommand else {
      do {
        var command = command
        try command.run()
        return 0
      } catch {
        return exitStatus(reporting: error)
      }
    }
    return waitingFor(interruptible: command is Setup || command is Teardown) {
      var command = asyncCommand
      try await command.run()
    }
  }

  /// Runs `body` as a task on the calling thread (``SerialThreadExecutor``) and returns the exit status.
  ///
  /// An `interruptible` command (setup, teardown) is cancelled by SIGINT, SIGTERM or SIGHUP instead of dying
  /// (``InterruptWatcher``), and then exits with 128 + the signal's number, as if the signal had ended it, but only
  /// after undoing or finishing its work.
  static func waitingFor(
    interruptible: Bool = false, _ body: sending @escaping () async throws -> Void
  ) -> Int32 {
    let outcome = BlockingOutcome()
    let watcher = interruptible ? InterruptWatcher() : nil
    SerialThreadExecutor.runOnCallingThread(
      {
        do {
          // The main thread is the command's alone: its backend lets plugin runs block it (.callingThread).
          try await body()
          outcome.status = 0
        } catch {
          outcome.status = exitStatus(reporting: error)
        }
      },
      started: { task in watcher?.cancelOnSignal(task) })
    if let signal = watcher?.received { return 128 + signal }
    return outcome.status
  }

  /// Prints what `error` says in Podman's way and returns the exit status it calls for.
  static func exitStatus(reporting error: any Error) -> Int32 {
    switch error {
    case let failure as CommandFailure:
      printError(failure.message)
      return failure.status
    case let error as NetworkError:
      printError(error.message)
      return 125
    case let error as CNIError:
      printError(error.description)
      return 125
    case let exit as ExitCode:
      // A status the command chose (exists, run): nothing to print, not even for 0.
      return exit.rawValue
    default:
      let code = exitCode(for: error)
      if code == .success {
        print(fullMessage(for: error))
        return 0
      }
      let message = fullMessage(for: error)
      if code.rawValue == ExitCode.validationFailure.rawValue {
        writeStandardError(message + "\n")
      } else {
        // ArgumentParser already says "Error: " for errors it does not know (a system call's, say).
        printError(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
      }
      return 125
    }
  }
}

/// Global options may come before the subcommand, as in `podman --network-backend cni network ls`; the parser
/// reads them after it, so they are moved there.
/// The global flags are the fast reader's table (`AttachmentInvocation.Slot`), which a test holds to ArgumentParser's.
func movingGlobalOptions(_ arguments: [String]) -> [String] {
  let index = leadingGlobalOptionsEnd(arguments)
  guard index > 0, index < arguments.count else { return arguments }
  return [arguments[index]] + arguments[..<index] + arguments[(index + 1)...]
}

/// Podman's spelling, `podman network ls`, is taken as well as `cnet ls`: a `network` word after the leading global
/// options is dropped.
func droppingNetworkWord(_ arguments: [String]) -> [String] {
  let index = leadingGlobalOptionsEnd(arguments)
  guard index < arguments.count, arguments[index] == "network" else { return arguments }
  var remaining = arguments
  remaining.remove(at: index)
  return remaining
}

/// The index of the first argument after the global options (with their values) that lead the command line.
private func leadingGlobalOptionsEnd(_ arguments: [String]) -> Int {
  var index = 0
  while index < arguments.count {
    let argument = arguments[index]
    let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
    guard AttachmentInvocation.Slot(spelling: name)?.isGlobal == true else { break }
    index += argument.contains("=") ? 1 : 2
  }
  return min(index, arguments.count)
}

/// The status a command's task hands back to the thread that ran it (``SerialThreadExecutor``).
private final class BlockingOutcome: @unchecked Sendable {
  var status: Int32 = 0
}

/// An error with its own exit status (Podman exits 1, not 125, for some failures).
struct CommandFailure: Error {
  var message: String
  var status: Int32
}

func printError(_ message: String) {
  writeStandardError("Error: \(message)\n")
}

/// Writes all of `text` to stderr, unbuffered, as Podman's messages are.
func writeStandardError(_ text: String) {
  var bytes = Array(text.utf8)
  var offset = 0
  while offset < bytes.count {
    let count = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
    if count < 0 && errno == EINTR { continue }
    if count <= 0 { return }
    offset += count
  }
}

struct Version: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
  @OptionGroup var global: GlobalOptions

  func run() {
    print("cnet version \(CNet.version)")
  }
}

struct Completion: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "completion", abstract: "Print a completion script for bash, zsh or fish.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "bash, zsh or fish.") var shell: String

  func run() throws {
    guard let kind = CompletionShell(rawValue: shell) else {
      throw ValidationError("unknown shell \(shell): use bash, zsh or fish")
    }
    print(CNet.completionScript(for: kind))
  }
}
