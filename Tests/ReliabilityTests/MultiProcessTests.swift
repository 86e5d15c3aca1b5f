import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Many `cnet` processes at once on one config directory (issue 8, "Concurrency"): afterwards no duplicate names,
/// subnets, bridges or container IPs, every file parses, and every process either succeeded or printed one clear
/// `Error:` line. Plugins run in a private host namespace; the directories are the test's own.
@Suite(.enabled(if: TestEnvironment.canRunRealPlugins, "needs root and the CNI plugins in /usr/lib/cni"))
struct MultiProcessTests {
  /// One finished process: its arguments, exit status and output.
  struct Outcome {
    var arguments: [String]
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Starts every command at once (none waits for another), then waits for all of them.
  static func runTogether(_ commands: [[String]], binary: String, environment: [String: String], scratch: String)
    throws -> [Outcome]
  {
    var running: [(Process, String, String, [String])] = []
    for (index, arguments) in commands.enumerated() {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: binary)
      process.arguments = arguments
      process.environment = environment
      let out = "\(scratch)/\(index).out"
      let err = "\(scratch)/\(index).err"
      _ = FileManager.default.createFile(atPath: out, contents: nil)
      _ = FileManager.default.createFile(atPath: err, contents: nil)
      process.standardOutput = FileHandle(forWritingAtPath: out)
      process.standardError = FileHandle(forWritingAtPath: err)
      process.standardInput = FileHandle.nullDevice
      running.append((process, out, err, arguments))
    }
    for (process, _, _, _) in running { try process.run() }
    return running.map { process, out, err, arguments in
      process.waitUntilExit()
      return Outcome(
        arguments: arguments, status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
  }

  /// Success, or exactly one `Error:` line (Podman's format) and status 125.
  static func expectSucceededOrClearError(_ outcomes: [Outcome], sourceLocation: SourceLocation = #_sourceLocation) {
    for outcome in outcomes where outcome.status != 0 {
      let errorLines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
      #expect(
        errorLines.count == 1 && outcome.status == 125,
        "\(outcome.arguments.joined(separator: " ")) exited \(outcome.status): \(outcome.stderr)",
        sourceLocation: sourceLocation)
    }
  }

  @Test func tenProcessesCreateRemoveSetUpAndTearDownTogether() async throws {
    let binary = try BuiltProduct.require("cnet")
    let root = try TemporaryDirectory(prefix: "cnet-mp")
    let host = try TestNamespace(prefix: "mph")
    var containers: [TestNamespace] = []
    defer {
      containers.forEach { $0.remove() }
      host.remove()
      root.remove()
    }
    for _ in 0..<4 { containers.append(try TestNamespace(prefix: "mpc")) }
    let config = root.appending("config")
    let cache = root.appending("cache")
    let scratch = root.appending("out")
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNET_") }
    environment["CNET_HOST_NETNS"] = host.path
    environment["CNET_HOST_LOCAL_DIR"] = root.appending("ipam")
    func cnet(_ subcommand: String, _ arguments: String...) -> [String] {
      [subcommand, "--config-dir", config, "--cache-dir", cache] + arguments
    }
    let ids = containers.map { _ in randomContainerID() }
    let shared = try runCommand(
      [binary] + cnet("create", "--disable-dns", "--subnet", "10.237.0.0/24", "shared"), environment: environment)
    #expect(shared.status == 0)

    // Round 1: 4 automatic creates, 2 creates of one name, 4 setups on the shared network: 10 processes.
    var round1: [[String]] = (0..<4).map { _ in cnet("create", "--disable-dns") }
    round1 += (0..<2).map { _ in cnet("create", "--disable-dns", "same") }
    round1 += containers.indices.map {
      cnet("setup", "--container-id", ids[$0], "--network", "shared", containers[$0].path)
    }
    let first = try Self.runTogether(round1, binary: binary, environment: environment, scratch: scratch)
    Self.expectSucceededOrClearError(first)
    #expect(first[0..<4].allSatisfy { $0.status == 0 })
    #expect(first[4..<6].filter { $0.status == 0 }.count == 1, "exactly one create of the same name wins")
    #expect(
      first[6..<10].allSatisfy { $0.status == 0 }, "\(first[6..<10].filter { $0.status != 0 }.map(\.stderr))")
    let ips = first[6..<10].compactMap { outcome -> String? in
      guard let range = outcome.stdout.range(of: #""ipnet": "[^"]*""#, options: .regularExpression) else { return nil }
      return String(outcome.stdout[range])
    }
    #expect(ips.count == 4)
    #expect(Set(ips).count == ips.count, "duplicate container IPs: \(ips)")

    // Round 2: 4 teardowns, 2 removals, 4 more creates at once.
    let created = first[0..<4].map { $0.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
    var round2: [[String]] = containers.indices.map {
      cnet("teardown", "--container-id", ids[$0], "--network", "shared", containers[$0].path)
    }
    round2 += created.prefix(2).map { cnet("rm", $0) }
    round2 += (0..<4).map { _ in cnet("create", "--disable-dns") }
    let second = try Self.runTogether(round2, binary: binary, environment: environment, scratch: scratch)
    Self.expectSucceededOrClearError(second)
    #expect(second.allSatisfy { $0.status == 0 }, "\(second.filter { $0.status != 0 }.map(\.stderr))")

    // Every file parses; names, subnets and bridges are unique.
    var names: [String] = []
    var subnets: [String] = []
    var bridges: [String] = []
    for file in try FileManager.default.contentsOfDirectory(atPath: config) where file.hasSuffix(".conflist") {
      let data = try Data(contentsOf: URL(fileURLWithPath: "\(config)/\(file)"))
      let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(file)")
      names.append(object["name"] as? String ?? "")
      let plugin = (object["plugins"] as? [[String: Any]])?.first ?? [:]
      bridges.append(plugin["bridge"] as? String ?? "")
      let ranges = (plugin["ipam"] as? [String: Any])?["ranges"] as? [[[String: Any]]] ?? []
      subnets += ranges.flatMap { $0.compactMap { $0["subnet"] as? String } }
    }
    #expect(names.count == 8, "shared + same + 4 + 4 - 2 = 8 networks: \(names)")
    #expect(Set(names).count == names.count, "duplicate names: \(names)")
    #expect(Set(subnets).count == subnets.count, "duplicate subnets: \(subnets)")
    #expect(Set(bridges).count == bridges.count, "duplicate bridges: \(bridges)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: config).filter { $0.hasPrefix(".cnet-tmp-") } == [])
    // Everything the containers had is gone again.
    #expect(try runCommand(["ip", "-n", host.name, "-o", "link", "show", "type", "veth"]).stdout == "")
    #expect(entries(under: "\(cache)/results") == [])
    let reservations = entries(under: root.appending("ipam/shared")).filter {
      $0 != "lock" && !$0.hasPrefix("last_reserved_ip")
    }
    #expect(reservations == [])
  }
}
