import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A server running inside a test's network namespace (`ip netns exec NAME …`), its stdout in `output`; killed by
/// ``stop()``, which a test calls when it ends (deleting the namespace does not end its processes).
public final class NamespaceServer: Sendable {
  public let process: Process
  public let output: String

  public init(in namespace: TestNamespace, _ arguments: [String], output: String = "/dev/null") throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ip", "netns", "exec", namespace.name] + arguments
    if output != "/dev/null" { _ = FileManager.default.createFile(atPath: output, contents: nil) }
    process.standardOutput = FileHandle(forWritingAtPath: output)
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
    try process.run()
    self.process = process
    self.output = output
  }

  public func stop() {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }
}
