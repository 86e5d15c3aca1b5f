import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A failed, repeated, interrupted or killed `cnet setup` never harms a working attachment and leaves nothing behind
/// (RELIABILITY.md, "Hardening"). Real plugins in a private host namespace; a few chains add a test plugin of ours
/// that sleeps or fails, to put the chain where each case needs it.
@Suite(
  .enabled(if: TestEnvironment.canRunRealPlugins, "needs root and the CNI plugins in /usr/lib/cni"),
  .serialized)
struct HardeningTests {
  /// A private host, one container namespace, a sandbox, and a plugin directory of test plugins searched before the
  /// real ones.
  struct World {
    let host: TestNamespace
    let container: TestNamespace
    let cnet: CNetSandbox
    var plugins: String { cnet.root.appending("plugins") }
    /// The pid of the running `slow` plugin appears here.
    var slowMarker: String { cnet.root.appending("slow.pid") }

    /// `--plugin-dir` for our test plugins first, then the real ones.
    var pluginOptions: [String] {
      ([plugins] + TestEnvironment.pluginDirectories).flatMap { ["--plugin-dir", $0] }
    }

    /// Firewall rules of the host namespace without counters.
    func rules() throws -> [String] {
      try host.run(["iptables-save"]).stdout.split(separator: "\n")
        .filter { !$0.hasPrefix("#") }
        .map { $0.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "", options: .regularExpression) }
    }

    /// The IPv4 addresses of `interface` in the container.
    func addresses(_ interface: String) throws -> String {
      try container.run(["ip", "-o", "-4", "addr", "show", "dev", interface]).stdout
    }

    /// Reservation files of host-local (one per IP).
    func reservations() -> [String] {
      let enumerator = FileManager.default.enumerator(atPath: cnet.hostLocalDir)
      var files: [String] = []
      while let item = enumerator?.nextObject() as? String {
        let name = (item as NSString).lastPathComponent
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: "\(cnet.hostLocalDir)/\(item)", isDirectory: &isDirectory)
        if !isDirectory.boolValue && name != "lock" && !name.hasPrefix("last_reserved_ip") { files.append(item) }
      }
      return files
    }

    /// The result cache's entries.
    func cacheEntries() -> [String] {
      (try? FileManager.default.contentsOfDirectory(atPath: cnet.cacheDir + "/results")) ?? []
    }

    /// Writes a conflist by hand: the bridge (with host-local) and then `plugins`, as the chain's later members.
    func writeChain(_ name: String, subnet: String, then plugins: [[String: Any]]) throws {
      let bridge: [String: Any] = [
        "type": "bridge", "bridge": String(name.prefix(12)), "isGateway": true, "ipMasq": true,
        "ipam": ["type": "host-local", "ranges": [[["subnet": subnet]]], "routes": [["dst": "0.0.0.0/0"]]],
      ]
      let list: [String: Any] = ["cniVersion": "0.4.0", "name": name, "plugins": [bridge] + plugins]
      let data = try JSONSerialization.data(withJSONObject: list, options: [.sortedKeys])
      try data.write(to: URL(fileURLWithPath: "\(cnet.configDir)/\(name).conflist"))
    }

    /// A test plugin: `slow` sleeps 30 s in ADD after writing its pid (and 1 s in DEL when `slow.del` exists);
    /// `broken` fails ADD and DEL with a CNI error. Both answer VERSION.
    func installTestPlugins() throws {
      try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
      let version = #"{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0"]}"#
      let slow = """
        #!/bin/sh
        cat >/dev/null
        case "$CNI_COMMAND" in
          ADD) echo $$ > \(slowMarker); sleep 30; echo '{"cniVersion":"0.4.0"}' ;;
          DEL) [ -e \(cnet.root.appending("slow.del")) ] && sleep 1; echo done > \(cnet.root.appending("slow.deleted")) ;;
          VERSION) echo '\(version)' ;;
        esac
        """
      let broken = """
        #!/bin/sh
        cat >/dev/null
        case "$CNI_COMMAND" in
          VERSION) echo '\(version)' ;;
          *) echo '{"cniVersion":"0.4.0","code":111,"msg":"broken on purpose"}'; exit 1 ;;
        esac
        """
      for (name, text) in [("slow", slow), ("broken", broken)] {
        let path = "\(plugins)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
      }
    }

    /// Starts `cnet ARGUMENTS` without waiting for it.
    func start(_ arguments: [String]) throws -> Process {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: cnet.binary)
      process.arguments = [arguments[0]] + cnet.directoryOptions + arguments.dropFirst()
      process.environment = cnet.environment()
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle(forWritingAtPath: "/dev/null")
      process.standardInput = FileHandle.nullDevice
      try process.run()
      return process
    }

    /// Waits until the slow plugin has written its pid, and returns it.
    func waitForSlowPlugin() throws -> pid_t {
      for _ in 0..<400 {
        if let text = try? String(contentsOfFile: slowMarker, encoding: .utf8),
          let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
          return pid
        }
        usleep(25_000)
      }
      throw SlowPluginNeverRan()
    }
  }

  struct SlowPluginNeverRan: Error {}

  static func withWorld(_ body: (World) async throws -> Void) async throws {
    let host = try TestNamespace(prefix: "chh")
    defer { host.remove() }
    let container = try TestNamespace(prefix: "chc")
    defer { container.remove() }
    try await withSandbox(hostNamespace: host.path) { cnet in
      let world = World(host: host, container: container, cnet: cnet)
      try world.installTestPlugins()
      try await body(world)
    }
  }

  static func subnet() -> String { subnets(1)[0] }

  /// `count` distinct random /24s: two networks of one test must not overlap.
  static func subnets(_ count: Int) -> [String] { (1...254).shuffled().prefix(count).map { "10.232.\($0).0/24" } }

  /// Whether a process of the process group `group` still runs (zombies, which only wait for their reaper, do not
  /// count).
  static func groupRuns(_ group: pid_t) -> Bool {
    let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return processes.contains { entry in
      guard Int32(entry) != nil, let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return false }
      // After "pid (comm)": state, ppid, pgrp.
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
    }
  }

  // MARK: 1. A repeated setup is refused before any plugin runs

  @Test func aRepeatedSetupIsRefusedAndTheWorkingAttachmentIsUntouched() async throws {
    try await Self.withWorld { world in
      let name = UniqueName.make("rep")
      let other = UniqueName.make("oth")
      let subnets = Self.subnets(2)
      try world.cnet.succeed(["create", "--disable-dns", "--subnet", subnets[0], name])
      try world.cnet.succeed(["create", "--disable-dns", "--subnet", subnets[1], other])
      // One full cycle first, so that the baseline holds the chains the plugins keep while the network exists.
      let warm = ["--container-id", "w1", "--network", name, world.container.path]
      try world.cnet.succeed(["setup"] + warm)
      try world.cnet.succeed(["teardown"] + warm)
      let baseline = try world.rules()
      let setup = ["setup", "--container-id", "a1", "--network", name, world.container.path]
      try world.cnet.succeed(setup)
      let address = try world.addresses("eth0")
      let cache = world.cacheEntries()
      #expect(address.contains("inet 10.232.") && cache.count == 1)

      let again = try world.cnet.cnet(setup)
      #expect(again.status == 125)
      #expect(
        again.stderr
          == "Error: container a1 is already attached to network \(name) (interface eth0): tear it down first\n")
      let sameInterface = try world.cnet.cnet([
        "setup", "--container-id", "a1", "--network", "\(other):interface_name=eth0", world.container.path,
      ])
      #expect(sameInterface.status == 125)
      #expect(
        sameInterface.stderr.contains("interface eth0 already exists in network namespace"), "\(sameInterface.stderr)")
      // The first attachment is exactly as it was: address, cache, reservation.
      #expect(try world.addresses("eth0") == address)
      #expect(world.cacheEntries() == cache)
      #expect(world.reservations().count == 1)

      try world.cnet.succeed(["teardown", "--container-id", "a1", "--network", name, world.container.path])
      #expect(try world.rules() == baseline)
      #expect(world.reservations() == [] && world.cacheEntries() == [])
    }
  }

  // MARK: 2. A killed setup's partial results let teardown remove everything

  @Test func teardownAfterASetupKilledInALaterPluginRemovesTheFirewallRules() async throws {
    try await Self.withWorld { world in
      let name = UniqueName.make("kil")
      try world.writeChain(name, subnet: Self.subnet(), then: [["type": "firewall"], ["type": "slow"]])
      // One full cycle first, so that the baseline holds the chains the plugins keep while the network exists.
      try world.writeChain(
        name + "w", subnet: "10.232.255.0/24", then: [["type": "firewall"]])
      let warm = ["--container-id", "w1", "--network", name + "w", world.container.path]
      try world.cnet.succeed(["setup"] + world.pluginOptions + warm)
      try world.cnet.succeed(["teardown"] + world.pluginOptions + warm)
      let baseline = try world.rules()

      let arguments = ["--container-id", "k1", "--network", name, world.container.path]
      let process = try world.start(["setup"] + world.pluginOptions + arguments)
      let plugin = try world.waitForSlowPlugin()
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      // What kill -9 cannot stop: the plugin in its own process group.
      kill(-plugin, SIGKILL)
      #expect(try world.rules() != baseline, "the firewall plugin had added its rules before the kill")

      try world.cnet.succeed(["teardown"] + world.pluginOptions + arguments)
      #expect(try world.rules() == baseline)
      #expect(try world.container.linkNames() == ["lo"])
      #expect(world.reservations() == [] && world.cacheEntries() == [])
    }
  }

  // MARK: 5. Signals roll a setup back and let a teardown finish

  @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
  func aSignalDuringSetupKillsThePluginAndRollsBack(signal: Int32) async throws {
    try await Self.withWorld { world in
      let name = UniqueName.make("sig")
      try world.writeChain(name, subnet: Self.subnet(), then: [["type": "slow"]])
      let arguments =
        ["setup"] + world.pluginOptions + ["--container-id", "s1", "--network", name, world.container.path]
      let process = try world.start(arguments)
      let plugin = try world.waitForSlowPlugin()
      kill(process.processIdentifier, signal)
      process.waitUntilExit()
      #expect(process.terminationReason == .exit && process.terminationStatus == 128 + signal)
      #expect(!Self.groupRuns(plugin), "the plugin's process group was killed")
      #expect(FileManager.default.fileExists(atPath: world.cnet.root.appending("slow.deleted")), "rolled back")
      #expect(try world.container.linkNames() == ["lo"])
      #expect(world.reservations() == [] && world.cacheEntries() == [])
    }
  }

  @Test func aSignalDuringTeardownLetsItFinish() async throws {
    try await Self.withWorld { world in
      let name = UniqueName.make("sgt")
      try world.writeChain(name, subnet: Self.subnet(), then: [])
      let arguments = world.pluginOptions + ["--container-id", "t1", "--network", name, world.container.path]
      try world.cnet.succeed(["setup"] + arguments)
      // The same network with the slow plugin last: its DEL runs first and takes a second.
      try world.writeChain(name, subnet: Self.subnet(), then: [["type": "slow"]])
      _ = FileManager.default.createFile(atPath: world.cnet.root.appending("slow.del"), contents: nil)
      try FileManager.default.removeItem(atPath: world.cnet.cacheDir + "/results")
      let process = try world.start(["teardown"] + arguments)
      usleep(300_000)
      kill(process.processIdentifier, SIGTERM)
      process.waitUntilExit()
      #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGTERM)
      #expect(FileManager.default.fileExists(atPath: world.cnet.root.appending("slow.deleted")))
      #expect(try world.container.linkNames() == ["lo"], "the bridge's DEL ran after the signal")
      #expect(world.reservations() == [])
    }
  }

  // MARK: 7. Every DEL of a rollback runs

  @Test func aRollbackRunsEveryDELAndReportsEachFailure() async throws {
    try await Self.withWorld { world in
      let name = UniqueName.make("brk")
      try world.writeChain(name, subnet: Self.subnet(), then: [["type": "broken"]])
      let result = try world.cnet.cnet(
        ["setup"] + world.pluginOptions + ["--container-id", "b1", "--network", name, world.container.path])
      #expect(result.status == 125)
      let lines = result.stderr.split(separator: "\n")
      #expect(lines.count == 1 && lines[0].hasPrefix("Error: setting up network \(name): "), "\(result.stderr)")
      #expect(result.stderr.contains("rolling back network \(name) failed"), "\(result.stderr)")
      #expect(try world.container.linkNames() == ["lo"], "the bridge's DEL ran after the broken plugin's failed")
      #expect(world.reservations() == [])
    }
  }

  // MARK: 2, 6, minor: input refused before anything runs

  @Test func aContainerIDTooLongForTheCacheIsRefusedBeforeAnyPlugin() async throws {
    try await Self.withWorld { world in
      let name = UniqueName.make("lng")
      try world.cnet.succeed(["create", "--disable-dns", "--subnet", Self.subnet(), name])
      let id = String(repeating: "a", count: 300)
      let result = try world.cnet.cnet(["setup", "--container-id", id, "--network", name, world.container.path])
      #expect(result.status == 125)
      #expect(result.stderr.contains("is too long for network \(name)"), "\(result.stderr)")
      #expect(try world.container.linkNames() == ["lo"])
      #expect(world.reservations() == [] && world.cacheEntries() == [])
    }
  }

  @Test(arguments: ["setup", "teardown"])
  func theCallersOwnNamespaceIsRefused(command: String) async throws {
    try await Self.withWorld { world in
      let name = UniqueName.make("own")
      try world.cnet.succeed(["create", "--disable-dns", "--subnet", Self.subnet(), name])
      for path in ["/proc/self/ns/net", world.host.path] {
        let result = try world.cnet.cnet([command, "--container-id", "o1", "--network", name, path])
        #expect(result.status == 125)
        #expect(
          result.stderr
            == "Error: namespace path \(path) is the host's own network namespace, not a container's: refusing to change it\n"
        )
      }
      #expect(try world.host.linkNames() == ["lo"], "no bridge, no veth")
    }
  }

  @Test func aNamespaceWeMayNotOpenIsReportedAsSuch() async throws {
    try await withSandbox { cnet in
      let private_ = cnet.root.appending("private")
      try FileManager.default.createDirectory(atPath: private_, withIntermediateDirectories: true)
      _ = FileManager.default.createFile(atPath: private_ + "/ns", contents: nil)
      chmod(private_, 0o700)
      chmod(cnet.root.path, 0o755)
      let result = try runCommand(
        ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", cnet.binary, "setup"]
          + cnet.directoryOptions + ["--container-id", "p1", "--network", "podman", private_ + "/ns"],
        environment: cnet.environment(), check: false)
      #expect(result.status == 125)
      #expect(result.stderr == "Error: namespace path \(private_)/ns: Permission denied\n")
    }
  }

  // MARK: 3. cnet run validates before it creates anything

  @Test(arguments: ["../../../tmpx", "a/b/c/d", "..", "-x"])
  func runRefusesABadContainerIDBeforeCreatingItsNamespace(id: String) async throws {
    try await withSandbox { cnet in
      let result = try cnet.cnet(["run", "--container-id=\(id)", "--", "true"])
      #expect(result.status == 125)
      #expect(
        result.stderr.hasPrefix("Error: container ID ") && !result.stderr.contains("Error: Error:"), "\(result.stderr)")
      // Where the namespace file would have gone: neither its first component under /run/netns nor the path it
      // resolves to exists.
      let path = "/run/netns/cnet-\(id.prefix(12))"
      let firstComponent = "/run/netns/" + path.dropFirst("/run/netns/".count).prefix { $0 != "/" }
      #expect(!FileManager.default.fileExists(atPath: firstComponent))
      #expect(!FileManager.default.fileExists(atPath: (path as NSString).standardizingPath))
    }
  }
}
