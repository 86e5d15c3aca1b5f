import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `cnet setup`, `teardown` and `run` as a built binary with the real CNI plugins. The plugins run in a private
/// "host" namespace (CNET_HOST_NETNS), so bridges, veth ends and firewall rules land there and vanish with it;
/// host-local's reservations and the result cache live in the test's temp directory.
@Suite(
  .enabled(if: TestEnvironment.canRunRealPlugins, "needs root and the CNI plugins in /usr/lib/cni"),
  .serialized)
struct AttachmentCommandTests {
  /// A private host namespace and a sandbox whose commands run their plugins there; both removed afterwards.
  static func withHost(_ body: (TestNamespace, CNetSandbox) async throws -> Void) async throws {
    let host = try TestNamespace(prefix: "cch")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { cnet in try await body(host, cnet) }
  }

  /// A random /24 inside 10.231.0.0/16; the host namespace is private, so it only has to differ between networks
  /// of one test.
  static func subnet() -> (cidr: String, prefix: String) {
    let third = Int.random(in: 1...254)
    return ("10.231.\(third).0/24", "10.231.\(third).")
  }

  /// A 64-hex-digit container ID whose first 12 digits (the name of `cnet run`'s namespace) are unique.
  static func containerID() -> String {
    (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
  }

  /// Where `cnet run` puts the namespace of a container.
  static func runNamespacePath(_ id: String) -> String { "/run/netns/cnet-\(id.prefix(12))" }

  /// Removes what a failed `cnet run` might have left behind.
  static func removeRunNamespace(_ id: String) {
    if FileManager.default.fileExists(atPath: runNamespacePath(id)) {
      _ = try? runCommand(["ip", "netns", "delete", "cnet-\(id.prefix(12))"], check: false)
    }
  }

  /// Links in the host namespace other than loopback and bridges: the veth ends of attached containers.
  static func vethEnds(in host: TestNamespace) throws -> [String] {
    let output = try runCommand(["ip", "-n", host.name, "-o", "link", "show", "type", "veth"]).stdout
    return output.split(separator: "\n").map(String.init)
  }

  /// Checks that a finished `cnet run` left no namespace and no veth behind.
  static func expectCleanedUp(
    _ id: String, host: TestNamespace, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    #expect(!FileManager.default.fileExists(atPath: runNamespacePath(id)), sourceLocation: sourceLocation)
    #expect(try vethEnds(in: host) == [], sourceLocation: sourceLocation)
  }

  @Test func setupPrintsTheStatusBlockAndTeardownLeavesOnlyLoopback() async throws {
    try await Self.withHost { host, cnet in
      let container = try TestNamespace(prefix: "ccc")
      defer { container.remove() }
      let name = UniqueName.make("att")
      let (cidr, prefix) = Self.subnet()
      try cnet.succeed(["create", "--disable-dns", "--subnet", cidr, name])
      let id = Self.containerID()
      let arguments = ["--container-id", id, "--container-name", "c1", "--network", name, container.path]

      let setup = try cnet.cnet(["setup"] + arguments)
      #expect(setup.status == 0, "\(setup.stderr)")
      #expect(setup.stderr == "")
      #expect(setup.stdout.hasPrefix("{\n  \"\(name)\": {\n    \"interfaces\": {\n      \"eth0\": {\n"))
      let status = try #require(try parseJSON(setup.stdout) as? [String: [String: Any]])
      #expect(Array(status.keys) == [name])
      let interfaces = try #require(status[name]?["interfaces"] as? [String: [String: Any]])
      #expect(Array(interfaces.keys) == ["eth0"])
      let eth0 = try #require(interfaces["eth0"])
      let subnets = try #require(eth0["subnets"] as? [[String: String]])
      let ipnet = try #require(subnets.first?["ipnet"])
      #expect(ipnet.hasPrefix(prefix) && ipnet.hasSuffix("/24"), "\(ipnet)")
      #expect(subnets.first?["gateway"] == prefix + "1")
      let mac = try #require(eth0["mac_address"] as? String)
      #expect(mac.split(separator: ":").count == 6)

      // The container really has that interface, address and MAC.
      #expect(try container.linkNames().sorted() == ["eth0", "lo"])
      let shown = try container.run(["ip", "-o", "addr", "show", "eth0"]).stdout
      #expect(shown.contains("inet \(ipnet)"))
      #expect(try container.run(["ip", "-o", "link", "show", "eth0"]).stdout.contains(mac))
      #expect(try Self.vethEnds(in: host).count == 1)

      let teardown = try cnet.cnet(["teardown"] + arguments)
      #expect(teardown.status == 0, "\(teardown.stderr)")
      #expect(teardown.stdout == "")
      #expect(teardown.stderr == "")
      #expect(try container.linkNames() == ["lo"])
      #expect(try Self.vethEnds(in: host) == [])
    }
  }

  @Test func setupHonoursStaticIPMACInterfaceNameAndPublish() async throws {
    try await Self.withHost { host, cnet in
      let container = try TestNamespace(prefix: "ccc")
      defer { container.remove() }
      let name = UniqueName.make("sta")
      let (cidr, prefix) = Self.subnet()
      try cnet.succeed(["create", "--disable-dns", "--subnet", cidr, name])
      let spec = "\(name):ip=\(prefix)77,mac=02:42:0a:e7:00:4d,interface_name=net7"
      let arguments = [
        "--container-id", Self.containerID(), "--network", spec, "-p", "127.0.0.1:18081:80/tcp", container.path,
      ]
      let setup = try cnet.cnet(["setup"] + arguments)
      #expect(setup.status == 0, "\(setup.stderr)")
      let status = try #require(try parseJSON(setup.stdout) as? [String: [String: Any]])
      let interfaces = try #require(status[name]?["interfaces"] as? [String: [String: Any]])
      let net7 = try #require(interfaces["net7"])
      #expect((net7["subnets"] as? [[String: String]])?.first?["ipnet"] == "\(prefix)77/24")
      #expect(net7["mac_address"] as? String == "02:42:0a:e7:00:4d")
      #expect(try container.linkNames().sorted() == ["lo", "net7"])
      // portmap put the published port into the host namespace's NAT table.
      let rules = try host.run(["iptables-save", "-t", "nat"]).stdout
      #expect(rules.contains("--dport 18081"))

      let teardown = try cnet.cnet(["teardown"] + arguments)
      #expect(teardown.status == 0, "\(teardown.stderr)")
      #expect(try container.linkNames() == ["lo"])
      #expect(!(try host.run(["iptables-save", "-t", "nat"]).stdout.contains("--dport 18081")))
    }
  }

  @Test func setupOfAnUnknownNetworkFailsAndAttachesNothing() async throws {
    try await Self.withHost { host, cnet in
      let container = try TestNamespace(prefix: "ccc")
      defer { container.remove() }
      let result = try cnet.cnet([
        "setup", "--container-id", Self.containerID(), "--network", "nosuchnet", container.path,
      ])
      #expect(result.status == 125)
      #expect(result.stdout == "")
      #expect(result.stderr.hasPrefix("Error: "))
      #expect(result.stderr.contains("nosuchnet"))
      #expect(try container.linkNames() == ["lo"])
    }
  }

  @Test func runPassesStatusStdoutAndStdinAndCleansUp() async throws {
    try await Self.withHost { host, cnet in
      let name = UniqueName.make("run")
      let (cidr, prefix) = Self.subnet()
      try cnet.succeed(["create", "--disable-dns", "--subnet", cidr, name])

      let id = Self.containerID()
      defer { Self.removeRunNamespace(id) }
      let result = try cnet.cnet([
        "run", "--network", name, "--container-id", id, "--",
        "sh", "-c", "ip -o -4 addr show eth0; ip -o link show lo; echo to-stderr >&2; exit 7",
      ])
      #expect(result.status == 7)
      #expect(result.stdout.contains("eth0    inet \(prefix)"))
      #expect(result.stdout.contains("/24 "))
      #expect(result.stdout.contains("<LOOPBACK,UP,LOWER_UP>"))
      #expect(result.stderr == "to-stderr\n")
      try Self.expectCleanedUp(id, host: host)

      // Status 0 prints nothing of its own; stdin reaches the command.
      let id2 = Self.containerID()
      defer { Self.removeRunNamespace(id2) }
      let echo = try cnet.cnet(["run", "--network", name, "--container-id", id2, "--", "cat"], input: "hello\n")
      #expect(echo.status == 0)
      #expect(echo.stdout == "hello\n")
      #expect(echo.stderr == "")
      try Self.expectCleanedUp(id2, host: host)
    }
  }

  @Test func runWithoutANetworkUsesTheDefaultNetwork() async throws {
    try await Self.withHost { host, cnet in
      let id = Self.containerID()
      defer { Self.removeRunNamespace(id) }
      let result = try cnet.cnet(["run", "--container-id", id, "--", "ip", "-o", "-4", "addr", "show", "eth0"])
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stdout.contains("inet 10.88."))
      try Self.expectCleanedUp(id, host: host)
    }
  }

  @Test func runReportsACommandKilledBySIGKILL() async throws {
    try await Self.withHost { host, cnet in
      let name = UniqueName.make("kil")
      try cnet.succeed(["create", "--disable-dns", "--subnet", Self.subnet().cidr, name])
      let id = Self.containerID()
      defer { Self.removeRunNamespace(id) }
      let result = try cnet.cnet(["run", "--network", name, "--container-id", id, "--", "sh", "-c", "kill -KILL $$"])
      #expect(result.status == 137)
      #expect(result.stdout == "")
      #expect(result.stderr == "")
      try Self.expectCleanedUp(id, host: host)
    }
  }

  /// SIGTERM to cnet while the command sleeps: forwarded to the command, then teardown, then status 128+15.
  @Test func runForwardsSIGTERMAndTearsDown() async throws {
    try await Self.withHost { host, cnet in
      let name = UniqueName.make("trm")
      try cnet.succeed(["create", "--disable-dns", "--subnet", Self.subnet().cidr, name])
      let id = Self.containerID()
      defer { Self.removeRunNamespace(id) }
      let ready = cnet.root.appending("ready")
      let server = try BackgroundCommand(
        cnet,
        ["run"] + cnet.directoryOptions + [
          "--network", name, "--container-id", id, "--", "sh", "-c", "touch \(ready); exec sleep 60",
        ])
      defer { server.kill() }
      #expect(await waitUntil { FileManager.default.fileExists(atPath: ready) })
      #expect(FileManager.default.fileExists(atPath: Self.runNamespacePath(id)))
      #expect(try Self.vethEnds(in: host).count == 1)
      server.signal(SIGTERM)
      let status = await server.wait()
      #expect(status == 143)
      #expect(server.stderr() == "")
      try Self.expectCleanedUp(id, host: host)
    }
  }

  /// Two `cnet run`s on one network: a busybox web server and a client that fetches from it by IP.
  @Test func twoRunsTalkAcrossTheNetwork() async throws {
    try await Self.withHost { host, cnet in
      let name = UniqueName.make("web")
      let (cidr, prefix) = Self.subnet()
      try cnet.succeed(["create", "--disable-dns", "--subnet", cidr, name])
      let site = cnet.root.appending("site")
      try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
      try "hello from cnet\n".write(toFile: "\(site)/index.html", atomically: true, encoding: .utf8)

      let serverID = Self.containerID()
      defer { Self.removeRunNamespace(serverID) }
      let server = try BackgroundCommand(
        cnet,
        ["run"] + cnet.directoryOptions + [
          "--network", "\(name):ip=\(prefix)5", "--container-id", serverID, "--",
          "busybox", "httpd", "-f", "-p", "80", "-h", site,
        ])
      defer { server.kill() }
      // Ready once the host namespace (the bridge's gateway side) gets an answer.
      let url = "http://\(prefix)5/"
      #expect(
        await waitUntil {
          // Not busybox's own -T: Debian's static busybox wget crashes with it.
          (try? host.run(["timeout", "3", "busybox", "wget", "-q", "-O-", url], check: false).status) == 0
        })

      let clientID = Self.containerID()
      defer { Self.removeRunNamespace(clientID) }
      let client = try cnet.cnet([
        "run", "--network", name, "--container-id", clientID, "--", "busybox", "wget", "-q", "-O-", url,
      ])
      #expect(client.status == 0, "\(client.stderr)")
      #expect(client.stdout == "hello from cnet\n")
      // The client's namespace and veth are gone; the server's veth is still there.
      #expect(!FileManager.default.fileExists(atPath: Self.runNamespacePath(clientID)))
      #expect(try Self.vethEnds(in: host).count == 1)

      server.signal(SIGTERM)
      #expect(await server.wait() == 143)
      try Self.expectCleanedUp(serverID, host: host)
    }
  }
}

/// `cnet` running in the background, its output going to files in the sandbox.
final class BackgroundCommand: Sendable {
  let process: Process
  let stdoutPath: String
  let stderrPath: String

  init(_ cnet: CNetSandbox, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cnet.binary)
    process.arguments = arguments
    process.environment = cnet.environment()
    let unique = UniqueName.make("bg")
    stdoutPath = cnet.root.appending("\(unique).out")
    stderrPath = cnet.root.appending("\(unique).err")
    _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
    process.standardError = FileHandle(forWritingAtPath: stderrPath)
    process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
    try process.run()
    self.process = process
  }

  func signal(_ number: Int32) { Glibc.kill(process.processIdentifier, number) }

  /// SIGKILL if still running (cleanup after a failed test).
  func kill() {
    if process.isRunning { signal(SIGKILL) }
    process.waitUntilExit()
  }

  /// The exit status, or nil when it did not exit within 30 seconds.
  func wait() async -> Int32? {
    guard await waitUntil(seconds: 30, { !self.process.isRunning }) else { return nil }
    return process.terminationStatus
  }

  func stdout() -> String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
  func stderr() -> String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}
