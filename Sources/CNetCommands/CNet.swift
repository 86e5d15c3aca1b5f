import ArgumentParser
import CNIRuntime
import ContainerNetworkCore
import Foundation

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
      Networks are stored in Podman's CNI format, so podman and cnet see the same networks.

      Environment: CNET_BACKEND, CNET_CONFIG_DIR, CNET_PLUGIN_DIRS (colon-separated), CNET_CACHE_DIR, \
      CNET_RUN_DIR, CNET_PLUGIN_TIMEOUT and CNET_LOG_LEVEL set the defaults of the global options. \
      CNET_HOST_LOCAL_DIR sets host-local's reservation directory; CNET_HOST_NETNS runs the plugins in that \
      network namespace instead of the host's (both for tests).
      """,
    version: version,
    subcommands: [
      Create.self, List.self, Inspect.self, Remove.self, Prune.self, Exists.self, Update.self, Setup.self,
      Teardown.self, Run.self, Version.self, Completion.self,
    ])

  public init() {}

  /// Parses the command line, runs the command, and returns the process exit status.
  ///
  /// Errors print as one line `Error: <message>` on stderr with status 125 (Podman's convention); bad flags print
  /// the usage message.
  public static func run(arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Int32 {
    // A reader that goes away must not kill us with SIGPIPE; writes then fail with EPIPE instead.
    signal(SIGPIPE, SIG_IGN)
    do {
      var command = try parseAsRoot(movingGlobalOptions(arguments))
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
      return 0
    } catch let failure as CommandFailure {
      printError(failure.message)
      return failure.status
    } catch let error as NetworkError {
      printError(error.message)
      return 125
    } catch let error as CNIError {
      printError(error.description)
      return 125
    } catch let exit as ExitCode {
      // A status the command chose (exists, run): nothing to print, not even for 0.
      return exit.rawValue
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        print(fullMessage(for: error))
        return 0
      }
      let message = fullMessage(for: error)
      if code.rawValue == ExitCode.validationFailure.rawValue {
        FileHandle.standardError.write(Data((message + "\n").utf8))
      } else {
        printError(message)
      }
      return 125
    }
  }
}

/// Global options may come before the subcommand, as in `podman --network-backend cni network ls`; the parser
/// reads them after it, so they are moved there.
func movingGlobalOptions(_ arguments: [String]) -> [String] {
  let withValue: Set<String> = [
    "--backend", "--config-dir", "--plugin-dir", "--cache-dir", "--run-dir", "--plugin-timeout", "--log-level",
  ]
  var leading: [String] = []
  var index = 0
  while index < arguments.count {
    let argument = arguments[index]
    let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
    guard withValue.contains(name) else { break }
    leading.append(argument)
    if !argument.contains("="), index + 1 < arguments.count {
      leading.append(arguments[index + 1])
      index += 1
    }
    index += 1
  }
  guard !leading.isEmpty, index < arguments.count else { return arguments }
  return [arguments[index]] + leading + arguments[(index + 1)...]
}

/// An error with its own exit status (Podman exits 1, not 125, for some failures).
struct CommandFailure: Error {
  var message: String
  var status: Int32
}

func printError(_ message: String) {
  FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
}

struct Version: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print the version.")
  @OptionGroup var global: GlobalOptions

  func run() {
    print("cnet version \(CNet.version)")
  }
}

struct Completion: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print a completion script for bash, zsh or fish.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "bash, zsh or fish.") var shell: String

  func run() throws {
    guard let kind = CompletionShell(rawValue: shell) else {
      throw ValidationError("unknown shell \(shell): use bash, zsh or fish")
    }
    print(CNet.completionScript(for: kind))
  }
}
