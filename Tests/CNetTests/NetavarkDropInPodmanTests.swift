import Foundation
import TestSupport
import Testing

@testable import CNetCommands

/// The real Podman 4.3 (`--network-backend netavark`) with the built cnet as its netavark: a containers.conf whose
/// `[engine] helper_binaries_dir` is a directory holding `netavark` (a link to cnet) and `aardvark-dns`. Podman runs
/// in a private mount and network namespace (``PodmanSandbox``).
///
/// Two dataplanes answer through the same command line: the native one, once it is wired in
/// (``NetavarkDropIn/nativeDataplane``), and the real netavark behind `CNET_NETAVARK_DELEGATE`, which proves the
/// command line and the JSON both ways against Podman on its own.
@Suite(
  .serialized,
  .enabled(
    if: TestEnvironment.canRunPrivileged && TestEnvironment.canUse("podman")
      && TestEnvironment.canUse("/usr/lib/podman/netavark") && TestEnvironment.canUse("/usr/lib/podman/aardvark-dns"),
    "needs root, podman, netavark and aardvark-dns"))
struct NetavarkDropInPodmanTests {
  enum Dataplane: String, CaseIterable, Sendable {
    case native, delegatingToNetavark
  }

  @Test(.serialized, arguments: Dataplane.allCases)
  func podmanRunsContainersThatPingEachOther(_ dataplane: Dataplane) async throws {
    let cnet = try CNetBinary.require()
    let directory = try TemporaryDirectory(prefix: "nv-dropin-podman")
    defer { directory.remove() }
    let sandbox = try Self.sandbox(in: directory, cnet: cnet)
    defer { sandbox.stop() }
    // The delegate logs each call before it runs netavark: proof that Podman went through cnet, not around it.
    let log = directory.appending("calls.log")
    if dataplane == .delegatingToNetavark {
      let delegate = directory.appending("logging-netavark")
      let script = "#!/bin/sh\necho \"$*\" >> '\(log)'\nexec /usr/lib/podman/netavark \"$@\"\n"
      try Data(script.utf8).write(to: URL(fileURLWithPath: delegate))
      chmod(delegate, 0o755)
      // Set by the helper Podman runs, not by Podman's environment: the teardown may come from conmon's cleanup
      // process, which gets only CONTAINERS_CONF and a few variables of its own, and would then use the native
      // dataplane on netavark's attachment (the delegate saw one teardown of two, and netavark's bridge stayed).
      let helper = directory.appending("helpers/netavark")
      unlink(helper)
      let wrapper = "#!/bin/sh\n\(NetavarkDropIn.delegateVariable)='\(delegate)' exec '\(cnet)' netavark \"$@\"\n"
      try Data(wrapper.utf8).write(to: URL(fileURLWithPath: helper))
      chmod(helper, 0o755)
    }
    // busybox ping; Podman's default capabilities lack NET_RAW, so the containers get it.
    try FileManager.default.createSymbolicLink(atPath: "\(sandbox.rootfs)/bin/ping", withDestinationPath: "busybox")

    let name = UniqueName.make("nd")
    sandbox.networks.append(name)
    try sandbox.podman(["network", "create", "--internal", "--disable-dns", name])
    var addresses: [String] = []
    var ids: [String] = []
    for _ in 0..<2 {
      let id = try sandbox.podman([
        "run", "-d", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--cap-add", "NET_RAW",
        "--network", name, "--rootfs", sandbox.rootfs, "/bin/sleep", "120",
      ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      sandbox.containers.append(id)
      try #require(id.count == 64, "podman run printed \(id)")
      ids.append(id)
      // Podman knows the address only from the status JSON our netavark printed.
      let address = try sandbox.podman([
        "inspect", "--format", "{{(index .NetworkSettings.Networks \"\(name)\").IPAddress}}", id,
      ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      try #require(!address.isEmpty, "podman has no address for \(id)")
      addresses.append(address)
    }
    #expect(addresses[0] != addresses[1])
    for (from, to) in [(0, 1), (1, 0)] {
      let ping = try sandbox.podman(
        ["exec", ids[from], "/bin/ping", "-c", "1", "-W", "3", addresses[to]], check: false)
      #expect(ping.status == 0, "ping \(addresses[to]) from \(addresses[from]): \(ping.stdout)\(ping.stderr)")
    }

    // One at a time: netavark 1.4 removes the bridge with its last veth, and two teardowns at once each see the
    // other's veth and keep it.
    for id in ids { try sandbox.podman(["rm", "-f", "-t", "0", id]) }
    sandbox.containers.removeAll()
    func links() throws -> [String] {
      try runCommand(["/usr/bin/nsenter", "--net=\(sandbox.networkNamespacePath)", "ip", "-o", "link", "show"])
        .stdout.split(separator: "\n").compactMap { $0.split(separator: ":").dropFirst().first }
        .map { $0.trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init) ?? "" }
    }
    // conmon's cleanup process may run the last teardown just after `podman rm` returns.
    switch dataplane {
    case .delegatingToNetavark:
      let calls = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
      let tornDown = await waitUntil { calls().components(separatedBy: " teardown ").count - 1 >= 2 }
      #expect(tornDown, "the delegate saw: \(calls())")
      #expect(calls().components(separatedBy: " setup ").count - 1 == 2, "the delegate saw: \(calls())")
      _ = await waitUntil { (try? links()) == ["lo"] }
      #expect(try links() == ["lo"], "links left in the sandbox namespace")
    case .native:
      // The native dataplane keeps its records under Podman's --config directory (the sandbox's netrun), and
      // removes them with the containers; the network's bridge stays until the network goes (`podman network rm`
      // does not call netavark: `cnet gc` is not needed for it, the bridge is idle and holds nothing).
      let records = directory.appending("netrun/cnet-native/\(name)")
      _ = await waitUntil {
        (try? FileManager.default.contentsOfDirectory(atPath: records).isEmpty) == true
          && (try? links().filter { $0.hasPrefix("cn") }.isEmpty) == true
      }
      #expect(try FileManager.default.contentsOfDirectory(atPath: records) == [])
      #expect(try links().filter { $0 != "lo" && !$0.hasPrefix("podman") } == [], "container links left")
      // Podman's `network rm` does not call its netavark; cnet's gc on Podman's directories removes the idle bridge
      // the native dataplane made.
      try sandbox.podman(["network", "rm", name])
      sandbox.networks.removeAll()
      var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNET_") }
      environment["CNET_HOST_NETNS"] = sandbox.networkNamespacePath
      let gc = try runCommand(
        [
          cnet, "--backend", "native", "--config-dir", directory.appending("net"), "--run-dir",
          directory.appending("netrun"), "gc",
        ], environment: environment)
      #expect(gc.stdout.contains("bridge podman"), "\(gc.stdout)")
      #expect(try links() == ["lo"], "links left after gc")
    }
  }

  /// A Podman sandbox whose containers.conf points `helper_binaries_dir` at a directory where `netavark` is cnet.
  static func sandbox(in directory: TemporaryDirectory, cnet: String) throws -> PodmanSandbox {
    let sandbox = try PodmanSandbox(directory: directory)
    let helpers = directory.appending("helpers")
    try FileManager.default.createDirectory(atPath: helpers, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: "\(helpers)/netavark", withDestinationPath: cnet)
    try FileManager.default.createSymbolicLink(
      atPath: "\(helpers)/aardvark-dns", withDestinationPath: "/usr/lib/podman/aardvark-dns")
    let conf = directory.appending("containers.conf")
    try Data("[engine]\nhelper_binaries_dir = [\"\(helpers)\"]\n".utf8).write(to: URL(fileURLWithPath: conf))
    sandbox.environment["CONTAINERS_CONF"] = conf
    return sandbox
  }

  /// A command in the sandbox's network namespace (the host, as its containers see it).
  @discardableResult
  static func inHost(_ sandbox: PodmanSandbox, _ arguments: [String], check: Bool = true) throws -> CommandResult {
    try runCommand(["/usr/bin/nsenter", "--net=\(sandbox.networkNamespacePath)"] + arguments, check: check)
  }

  /// Podman runs on the native firewall and DNS: a container reaches another by name and short ID,
  /// `-p 127.0.0.1:18080:80` and `-p 18081:80` serve a page to the host, `podman network reload` brings them back
  /// after `nft flush ruleset` and `iptables -F`, and `podman rm -f` leaves no link, map element or state file.
  @Test func podmanResolvesNamesAndPublishesPortsThatReloadRestores() async throws {
    let cnet = try CNetBinary.require()
    let directory = try TemporaryDirectory(prefix: "nv-dropin-ports")
    defer { directory.remove() }
    let sandbox = try Self.sandbox(in: directory, cnet: cnet)
    defer { sandbox.stop() }
    try FileManager.default.createDirectory(atPath: "\(sandbox.rootfs)/www", withIntermediateDirectories: true)
    try Data("served by podman\n".utf8).write(to: URL(fileURLWithPath: "\(sandbox.rootfs)/www/index.html"))

    let name = UniqueName.make("np")
    sandbox.networks.append(name)
    try sandbox.podman(["network", "create", "--subnet", "10.89.77.0/24", name])
    let web = UniqueName.make("web")
    let id = try sandbox.podman([
      "run", "-d", "--name", web, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", name,
      "-p", "127.0.0.1:18080:80", "-p", "18081:80", "--rootfs", sandbox.rootfs, "/bin/busybox", "httpd", "-f", "-p",
      "80", "-h", "/www",
    ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    sandbox.containers.append(id)
    try #require(id.count == 64, "podman run printed \(id)")
    // A second container reaches the first by its name and by an alias, through aardvark-dns on the gateway (the
    // resolv.conf Podman writes from the status our netavark printed).
    try FileManager.default.createSymbolicLink(atPath: "\(sandbox.rootfs)/bin/ping", withDestinationPath: "busybox")
    let client = try sandbox.podman([
      "run", "-d", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--cap-add", "NET_RAW",
      "--network", name, "--rootfs", sandbox.rootfs, "/bin/sleep", "120",
    ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    sandbox.containers.append(client)
    let resolv = try sandbox.podman(["exec", client, "/bin/cat", "/etc/resolv.conf"]).stdout
    #expect(resolv.contains("nameserver 10.89.77.1") && resolv.contains("dns.podman"), "\(resolv)")
    for target in [web, String(id.prefix(12))] {
      let ping = try sandbox.podman(["exec", client, "/bin/ping", "-c", "1", "-W", "3", target], check: false)
      #expect(ping.status == 0, "ping \(target): \(ping.stdout)\(ping.stderr)")
    }
    try sandbox.podman(["rm", "-f", "-t", "0", client])
    sandbox.containers.removeAll { $0 == client }
    func fetch(_ url: String) -> String {
      (try? Self.inHost(sandbox, ["curl", "-s", "--max-time", "2", url], check: false).stdout) ?? ""
    }
    let urls = ["http://127.0.0.1:18080/", "http://10.89.77.1:18081/"]
    for url in urls {
      #expect(await waitUntil(seconds: 10) { fetch(url) == "served by podman\n" }, "\(url)")
    }

    try Self.inHost(sandbox, ["nft", "flush", "ruleset"])
    try Self.inHost(sandbox, ["iptables", "-F"])
    for url in urls { #expect(fetch(url) != "served by podman\n", "\(url) still answers after the flush") }
    try sandbox.podman(["network", "reload", "--all"])
    for url in urls {
      #expect(await waitUntil(seconds: 10) { fetch(url) == "served by podman\n" }, "\(url) after reload")
    }

    try sandbox.podman(["rm", "-f", "-t", "0", id])
    sandbox.containers.removeAll()
    let records = directory.appending("netrun/cnet-native/\(name)")
    func elements() -> String {
      (try? Self.inHost(sandbox, ["nft", "list", "map", "inet", "cnet", "pf4_any"], check: false).stdout) ?? ""
    }
    func containerLinks() -> [String] {
      let text = (try? Self.inHost(sandbox, ["ip", "-o", "link", "show", "type", "veth"]).stdout) ?? ""
      return text.split(separator: "\n").map(String.init)
    }
    // conmon's cleanup process may run the teardown just after `podman rm` returns.
    _ = await waitUntil {
      (try? FileManager.default.contentsOfDirectory(atPath: records).isEmpty) == true && containerLinks().isEmpty
        && !elements().contains("18081")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: records) == [])
    #expect(containerLinks() == [])
    #expect(!elements().contains("18081") && !elements().contains("elements"), "\(elements())")
    // The DNS server ends with the network's last container.
    let servers = {
      (try? runCommand(["pgrep", "-f", "aardvark-dns --config \(directory.path)"], check: false).stdout) ?? ""
    }
    #expect(await waitUntil(seconds: 10) { servers().isEmpty }, "aardvark-dns still runs: \(servers())")
  }

  /// `podman network connect` and `disconnect` of a container with a published port: connecting a second network
  /// keeps the port (Podman passes it again with the one network), and disconnecting the first moves it to the
  /// second, so the page is still served; `podman rm -f` then leaves no element.
  @Test func aPublishedPortFollowsTheContainerThroughConnectAndDisconnect() async throws {
    let cnet = try CNetBinary.require()
    let directory = try TemporaryDirectory(prefix: "nv-dropin-connect")
    defer { directory.remove() }
    let sandbox = try Self.sandbox(in: directory, cnet: cnet)
    defer { sandbox.stop() }
    try FileManager.default.createDirectory(atPath: "\(sandbox.rootfs)/www", withIntermediateDirectories: true)
    try Data("still served\n".utf8).write(to: URL(fileURLWithPath: "\(sandbox.rootfs)/www/index.html"))
    let first = UniqueName.make("nc")
    let second = UniqueName.make("nc")
    sandbox.networks += [first, second]
    try sandbox.podman(["network", "create", "--disable-dns", "--subnet", "10.89.78.0/24", first])
    try sandbox.podman(["network", "create", "--disable-dns", "--subnet", "10.89.79.0/24", second])
    let web = UniqueName.make("web")
    let id = try sandbox.podman([
      "run", "-d", "--name", web, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", first,
      "-p", "18082:80", "--rootfs", sandbox.rootfs, "/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www",
    ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    sandbox.containers.append(id)
    try #require(id.count == 64, "podman run printed \(id)")
    func fetch() -> String {
      let url = "http://10.89.79.1:18082/"
      return (try? Self.inHost(sandbox, ["curl", "-s", "--max-time", "2", url], check: false).stdout) ?? ""
    }
    func elements() -> String {
      (try? Self.inHost(sandbox, ["nft", "list", "map", "inet", "cnet", "pf4_any"], check: false).stdout) ?? ""
    }
    try sandbox.podman(["network", "connect", second, web])
    #expect(await waitUntil(seconds: 10) { fetch() == "still served\n" }, "before the disconnect")
    #expect(elements().contains("10.89.78."), "\(elements())")
    try sandbox.podman(["network", "disconnect", first, web])
    #expect(elements().contains("10.89.79.") && !elements().contains("10.89.78."), "\(elements())")
    #expect(await waitUntil(seconds: 10) { fetch() == "still served\n" }, "after the disconnect")

    try sandbox.podman(["rm", "-f", "-t", "0", id])
    sandbox.containers.removeAll()
    // conmon's cleanup process may run the teardown just after `podman rm` returns.
    #expect(await waitUntil { !elements().contains("18082") }, "\(elements())")
  }
}
