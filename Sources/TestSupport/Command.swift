import Foundation

/// The outcome of running an external command in a test.
public struct CommandResult: Sendable {
  public var status: Int32
  public var stdout: String
  public var stderr: String

  public init(status: Int32, stdout: String, stderr: String) {
    self.status = status
    self.stdout = stdout
    self.stderr = stderr
  }
}

/// Errors from ``runCommand(_:input:environment:)`` when a command that must succeed does not.
public struct CommandFailure: Error, CustomStringConvertible {
  public var arguments: [String]
  public var result: CommandResult
  public var description: String {
    "\(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)\(result.stdout)"
  }
}

/// Runs a command (no shell) and returns its status and output. Test-only: the library spawns its own way.
@discardableResult
public func runCommand(
  _ arguments: [String], input: String? = nil, environment: [String: String]? = nil, check: Bool = true
) throws -> CommandResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: resolveExecutable(arguments[0]))
  process.arguments = Array(arguments.dropFirst())
  if let environment { process.environment = environment }
  let outPipe = Pipe()
  let errPipe = Pipe()
  let inPipe = Pipe()
  process.standardOutput = outPipe
  process.standardError = errPipe
  process.standardInput = inPipe
  try process.run()
  // Read both pipes concurrently so that a chatty command cannot block on a full pipe.
  nonisolated(unsafe) var errData = Data()
  let group = DispatchGroup()
  DispatchQueue.global().async(group: group) { errData = errPipe.fileHandleForReading.readDataToEndOfFile() }
  if let input { try? inPipe.fileHandleForWriting.write(contentsOf: Data(input.utf8)) }
  try? inPipe.fileHandleForWriting.close()
  let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
  group.wait()
  process.waitUntilExit()
  let result = CommandResult(
    status: process.terminationStatus,
    stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
  if check && result.status != 0 { throw CommandFailure(arguments: arguments, result: result) }
  return result
}

private func resolveExecutable(_ name: String) -> String {
  if name.contains("/") { return name }
  for directory in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
    let candidate = "\(directory)/\(name)"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  return "/usr/bin/\(name)"
}
