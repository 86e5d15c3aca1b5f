import ContainerNetworkCore
import Foundation
import NetworkAddress
import OrderedJSON
import Synchronization
import TestSupport
import Testing

@testable import CNetCommands
@testable import NetavarkBackend

/// A dataplane that records what the drop-in asks of it and answers with what the test set.
final class RecordingDataplane: NetavarkDataplane {
  struct Call: Equatable, Sendable {
    var command: String
    var namespacePath: String = ""
    var request: NetavarkRequest?
    var network: String = ""
    var servers: [String] = []
  }

  private let state = Mutex<[Call]>([])
  let answer: [String: StatusBlock]
  let failure: (any Error & Sendable)?

  init(answer: [String: StatusBlock] = [:], failure: (any Error & Sendable)? = nil) {
    self.answer = answer
    self.failure = failure
  }

  var calls: [Call] { state.withLock { $0 } }

  func setup(namespacePath: String, request: NetavarkRequest) async throws -> [String: StatusBlock] {
    state.withLock { $0.append(Call(command: "setup", namespacePath: namespacePath, request: request)) }
    if let failure { throw failure }
    return answer
  }

  func teardown(namespacePath: String, request: NetavarkRequest) async throws {
    state.withLock { $0.append(Call(command: "teardown", namespacePath: namespacePath, request: request)) }
    if let failure { throw failure }
  }

  func updateDNSServers(network: String, servers: [String]) async throws {
    state.withLock { $0.append(Call(command: "update", network: network, servers: servers)) }
    if let failure { throw failure }
  }
}

/// cnet as netavark 1.4 (``NetavarkDropIn``): netavark's command line, its JSON on stdout, its statuses. The
/// expected texts and statuses are those the installed netavark 1.4.0 prints for the same arguments.
@Suite struct NetavarkDropInTests {
  /// A request as Podman 4.3 pipes it (two networks, from the reference capture's shape).
  static let request = """
    {"container_id":"c5191ee6c084","container_name":"web","networks":{"pbc-a":{"static_ips":["10.231.20.18"],\
    "aliases":["c5191ee6c084"],"interface_name":"eth0"},"pbc-int":{"static_ips":["10.231.22.10"],\
    "interface_name":"eth1"}},"network_info":{"pbc-a":{"name":"pbc-a","id":"2dc51acced7d623b36df08e552b02be9ecbc78\
    90248bd54b23bb7dd81aa1e0ae","driver":"bridge","network_interface":"podman1","created":"2026-11-29T01:06:14.04189\
    5735Z","subnets":[{"subnet":"10.231.20.0/24","gateway":"10.231.20.1"}],"ipv6_enabled":false,"internal":false,\
    "dns_enabled":true,"ipam_options":{"driver":"host-local"}},"pbc-int":{"name":"pbc-int","id":"0692f18c1bef71dab\
    fae3207b9d26e534da6092014a008ee72fb0124f6552f43","driver":"bridge","network_interface":"podman3","created":"2026\
    -11-29T01:06:14.083868293Z","subnets":[{"subnet":"10.231.22.0/24","gateway":"10.231.22.1"}],"ipv6_enabled":false,\
    "internal":true,"dns_enabled":false,"ipam_options":{"driver":"host-local"}}}}
    """

  /// Runs the drop-in in process with `input` on stdin.
  static func run(
    _ arguments: [String], input: String = request, dataplane: RecordingDataplane = RecordingDataplane()
  ) async -> (outcome: NetavarkDropIn.Outcome, stdout: String, stderr: String) {
    let outcome = await NetavarkDropIn.run(
      arguments, readStandardInput: { Array(input.utf8) }, makeDataplane: { _ in dataplane })
    return (
      outcome, String(decoding: outcome.standardOutput, as: UTF8.self),
      String(decoding: outcome.standardError, as: UTF8.self)
    )
  }

  // MARK: - The command line

  struct Understood: Sendable, CustomTestStringConvertible {
    var arguments: [String]
    var invocation: NetavarkInvocation
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static func invocation(
    _ command: NetavarkInvocation.Command, config: String = "/tmp", rootless: Bool = false,
    aardvark: String = "/usr/libexec/podman/aardvark-dns", file: String? = nil
  ) -> NetavarkInvocation {
    NetavarkInvocation(
      settings: NetavarkDropInSettings(configDirectory: config, rootless: rootless, aardvarkBinary: aardvark),
      file: file, command: command)
  }

  static let understood: [Understood] = [
    // Exactly what Podman 4.3 runs.
    Understood(
      arguments: [
        "--config", "/run/containers/networks", "--rootless=false", "--aardvark-binary=/usr/lib/podman/aardvark-dns",
        "setup", "/run/netns/netns-c7758bf8",
      ],
      invocation: invocation(
        .setup(namespacePath: "/run/netns/netns-c7758bf8"), config: "/run/containers/networks",
        aardvark: "/usr/lib/podman/aardvark-dns")),
    Understood(
      arguments: ["teardown", "/run/netns/x"], invocation: invocation(.teardown(namespacePath: "/run/netns/x"))),
    Understood(
      arguments: ["-c", "/c", "-r", "true", "-a", "/a", "-f", "/req.json", "teardown", "/ns"],
      invocation: invocation(
        .teardown(namespacePath: "/ns"), config: "/c", rootless: true, aardvark: "/a", file: "/req.json")),
    Understood(
      arguments: ["-c/c", "-rtrue", "-a=/a", "--file=/f", "setup", "/ns"],
      invocation: invocation(.setup(namespacePath: "/ns"), config: "/c", rootless: true, aardvark: "/a", file: "/f")),
    Understood(
      arguments: ["--rootless", "false", "--config=", "--file", "-", "setup", "-"],
      invocation: invocation(.setup(namespacePath: "-"), config: "", file: "-")),
    Understood(arguments: ["setup", "--", "-odd"], invocation: invocation(.setup(namespacePath: "-odd"))),
    Understood(
      arguments: ["update", "--network-dns-servers", "8.8.8.8,1.1.1.1", "web"],
      invocation: invocation(.update(network: "web", dnsServers: ["8.8.8.8", "1.1.1.1"]))),
    Understood(
      arguments: ["--config", "/c", "update", "web", "--network-dns-servers=9.9.9.9", "--network-dns-servers", "::1"],
      invocation: invocation(.update(network: "web", dnsServers: ["9.9.9.9", "::1"]), config: "/c")),
    Understood(arguments: ["version"], invocation: invocation(.version)),
    Understood(arguments: ["-r=false", "version"], invocation: invocation(.version)),
  ]

  @Test(arguments: understood)
  func readsNetavarksCommandLine(_ case: Understood) {
    #expect(NetavarkInvocation.parse(`case`.arguments) == .invocation(`case`.invocation))
  }

  struct Refused: Sendable, CustomTestStringConvertible {
    var arguments: [String]
    /// netavark's first line on stderr.
    var error: String
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let refused: [Refused] = [
    Refused(arguments: ["bogus"], error: "error: Found argument 'bogus' which wasn't expected, or isn't valid"),
    Refused(arguments: ["-x", "version"], error: "error: Found argument '-x' which wasn't expected"),
    Refused(arguments: ["--config", "-x", "version"], error: "error: Found argument '-x' which wasn't expected"),
    Refused(arguments: ["--config"], error: "error: The argument '--config <CONFIG>' requires a value but none"),
    Refused(
      arguments: ["--config=/a", "-c", "/b", "version"],
      error: "error: The argument '--config <CONFIG>' was provided more than once, but cannot be used multiple times"),
    Refused(
      arguments: ["--rootless=TRUE", "version"],
      error: "error: Invalid value \"TRUE\" for '--rootless <ROOTLESS>': provided string was not `true` or `false`"),
    Refused(arguments: ["setup"], error: "error: The following required arguments were not provided:"),
    Refused(arguments: ["setup", "a", "b"], error: "error: Found argument 'b' which wasn't expected"),
    Refused(arguments: ["setup", "--config", "/c", "/ns"], error: "error: Found argument '--config' which wasn't"),
    Refused(
      arguments: ["teardown", ""],
      error: "error: The argument '<NETWORK_NAMESPACE_PATH>' requires a value but none was supplied"),
    Refused(arguments: ["update", "web"], error: "error: The following required arguments were not provided:"),
    Refused(
      arguments: ["update", "--network-dns-servers=", "web"],
      error: "error: The argument '--network-dns-servers <NETWORK_DNS_SERVERS>' requires a value but none was"),
    Refused(arguments: ["version", "extra"], error: "error: Found argument 'extra' which wasn't expected"),
    Refused(arguments: ["help", "bogus"], error: "error: The subcommand 'bogus' wasn't recognized"),
    // The subcommand's own errors first, then the first wrong option.
    Refused(arguments: ["--rootless=maybe", "setup"], error: "error: The following required arguments were not"),
    Refused(arguments: ["--rootless=maybe", "bogus"], error: "error: Found argument 'bogus' which wasn't expected"),
    Refused(arguments: ["-c", "a", "-c", "b", "--rootless=x", "version"], error: "error: The argument '--config"),
    Refused(arguments: ["--rootless=x", "-c", "a", "-c", "b", "version"], error: "error: Invalid value \"x\""),
  ]

  @Test(arguments: refused)
  func refusesAsClapDoes(_ case: Refused) async {
    let (outcome, stdout, stderr) = await Self.run(`case`.arguments)
    #expect(outcome.status == 2)
    #expect(stdout.isEmpty)
    #expect(stderr.hasPrefix(`case`.error), "\(stderr)")
    #expect(stderr.hasSuffix("\nFor more information try --help\n"))
  }

  @Test func listsEveryMissingArgumentWithTheUsage() async {
    let (_, _, stderr) = await Self.run(["update"])
    #expect(
      stderr == """
        error: The following required arguments were not provided:
            --network-dns-servers <NETWORK_DNS_SERVERS>
            <NETWORK_NAME>

        USAGE:
            netavark update --network-dns-servers <NETWORK_DNS_SERVERS> <NETWORK_NAME>

        For more information try --help

        """)
  }

  @Test(arguments: [["-h"], ["--help"], ["-c", "/x", "--help"], ["help"], ["-hV"]])
  func helpGoesToStdout(_ arguments: [String]) async {
    let (outcome, stdout, stderr) = await Self.run(arguments)
    #expect(outcome.status == 0 && stderr.isEmpty)
    #expect(stdout.hasPrefix("netavark \(CNet.version)\n"))
    #expect(stdout.contains("USAGE:\n    netavark [OPTIONS] <SUBCOMMAND>\n"))
  }

  @Test(arguments: ["setup", "teardown", "update", "version"])
  func subcommandHelp(_ name: String) async {
    for arguments in [[name, "--help"], [name, "-h"], ["help", name]] {
      let (outcome, stdout, _) = await Self.run(arguments)
      #expect(outcome.status == 0)
      #expect(stdout.hasPrefix("netavark-\(name) \n"), "\(arguments)")
    }
  }

  /// Even when an option is wrong: clap looks at option values only once it found the subcommand.
  @Test func noSubcommandPrintsTheHelpAsAnError() async {
    for arguments in [[], ["--rootless", "version"], ["--rootless=maybe"], ["-c", "a", "-c", "b"]] {
      let (outcome, stdout, stderr) = await Self.run(arguments)
      #expect(outcome.status == 2 && stdout.isEmpty, "\(arguments)")
      #expect(stderr.hasPrefix("netavark \(CNet.version)\n"))
    }
  }

  @Test func versionFlagIsOneLine() async {
    for arguments in [["-V"], ["--version"], ["--config", "/x", "-V"]] {
      let (outcome, stdout, _) = await Self.run(arguments)
      #expect(outcome.status == 0)
      #expect(stdout == "netavark \(CNet.version)\n")
    }
  }

  // MARK: - Requests and answers

  @Test func setupReadsTheRequestFromStdinAndPrintsTheStatuses() async throws {
    let block = StatusBlock(
      interfaces: [
        "eth0": NetInterface(
          subnets: [NetAddress(ipnet: IPNetwork("10.231.20.18/24")!, gateway: IPAddress("10.231.20.1"))],
          macAddress: MACAddress("d6:c6:c0:19:d0:68"))
      ], dnsServerIPs: [IPAddress("10.231.20.1")!], dnsSearchDomains: ["dns.podman"])
    let internalNetwork = StatusBlock(
      interfaces: [
        "eth1": NetInterface(
          subnets: [NetAddress(ipnet: IPNetwork("10.231.22.10/24")!)], macAddress: MACAddress("56:eb:eb:50:47:62"))
      ])
    let dataplane = RecordingDataplane(answer: ["pbc-int": internalNetwork, "pbc-a": block])
    let (outcome, stdout, stderr) = await Self.run(
      ["--config", "/run/containers/networks", "setup", "/proc/self/ns/net"], dataplane: dataplane)
    #expect(outcome.status == 0 && stderr.isEmpty)
    // The request's network order; all three fields always; a missing gateway is null.
    #expect(
      stdout == """
        {"pbc-a":{"dns_search_domains":["dns.podman"],"dns_server_ips":["10.231.20.1"],"interfaces":{"eth0":\
        {"mac_address":"d6:c6:c0:19:d0:68","subnets":[{"gateway":"10.231.20.1","ipnet":"10.231.20.18/24"}]}}},\
        "pbc-int":{"dns_search_domains":[],"dns_server_ips":[],"interfaces":{"eth1":{"mac_address":\
        "56:eb:eb:50:47:62","subnets":[{"gateway":null,"ipnet":"10.231.22.10/24"}]}}}}

        """)
    let call = try #require(dataplane.calls.first)
    #expect(call.command == "setup" && call.namespacePath == "/proc/self/ns/net")
    let expected = try JSONDecoder().decode(NetavarkRequest.self, from: Data(Self.request.utf8))
    #expect(call.request == expected)
    #expect(call.request?.options.networks.map(\.name) == ["pbc-a", "pbc-int"])
  }

  @Test func fileReplacesStdin() async throws {
    let directory = try TemporaryDirectory(prefix: "nv-dropin")
    defer { directory.remove() }
    let file = directory.appending("request.json")
    try Data(Self.request.utf8).write(to: URL(fileURLWithPath: file))
    let dataplane = RecordingDataplane()
    for arguments in [["--file", file, "teardown", "/ns"], ["-f", file, "teardown", "/ns"]] {
      let outcome = await NetavarkDropIn.run(
        arguments,
        readStandardInput: {
          Issue.record("stdin was read although --file was given")
          return []
        }, makeDataplane: { _ in dataplane })
      #expect(outcome == NetavarkDropIn.Outcome(status: 0))
    }
    #expect(dataplane.calls.map(\.command) == ["teardown", "teardown"])
    #expect(dataplane.calls.allSatisfy { $0.request?.options.containerID == "c5191ee6c084" })
  }

  @Test func teardownPrintsNothing() async throws {
    let dataplane = RecordingDataplane()
    let (outcome, _, _) = await Self.run(["teardown", "/run/netns/gone"], dataplane: dataplane)
    #expect(outcome == NetavarkDropIn.Outcome(status: 0))
    #expect(dataplane.calls.first?.namespacePath == "/run/netns/gone")
  }

  @Test func updatePassesTheServers() async {
    let dataplane = RecordingDataplane()
    let (outcome, _, _) = await Self.run(
      ["update", "--network-dns-servers", "8.8.8.8,1.1.1.1", "web"], dataplane: dataplane)
    #expect(outcome == NetavarkDropIn.Outcome(status: 0))
    #expect(dataplane.calls == [.init(command: "update", network: "web", servers: ["8.8.8.8", "1.1.1.1"])])
  }

  @Test func theFactoryGetsTheGlobalOptions() async {
    let seen = Mutex<[NetavarkDropInSettings]>([])
    _ = await NetavarkDropIn.run(
      ["--config", "/run/containers/networks", "--rootless=true", "-a", "/bin/aardvark", "teardown", "/ns"],
      readStandardInput: { Array(Self.request.utf8) },
      makeDataplane: { settings in
        seen.withLock { $0.append(settings) }
        return RecordingDataplane()
      })
    #expect(
      seen.withLock { $0 } == [
        NetavarkDropInSettings(
          configDirectory: "/run/containers/networks", rootless: true, aardvarkBinary: "/bin/aardvark")
      ])
  }

  /// Podman's answers from the reference capture, decoded and written again: the same bytes.
  @Test func statusBytesAreNetavarks() throws {
    guard let reference = PodmanReferenceTests.reference else {
      print("skipped: podman-4.3-reference is absent (set CNET_PODMAN_REFERENCE to its cni folder)")
      return
    }
    let folder = URL(fileURLWithPath: reference).deletingLastPathComponent()
      .appendingPathComponent("exec-capture/netavark").path
    let cases = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.first?.isNumber == true }
    #expect(cases.count >= 6)
    for name in cases.sorted() {
      let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name)/01-setup.stdout.json")))
      let statuses = try JSONDecoder().decode([String: StatusBlock].self, from: Data(bytes))
      // netavark's order is a hash map's; the reference's own order is the one to write for a byte comparison.
      let order = try JSONValue.parse(bytes).objectValue?.keys ?? []
      #expect(NetavarkOutput.statuses(statuses, order: order) == bytes, "\(name)")
    }
  }

  // MARK: - Errors

  struct Failing: Sendable, CustomTestStringConvertible {
    var arguments: [String]
    var input: String
    var failure: (any Error & Sendable)?
    var message: String
    var testDescription: String { message }
  }

  static let failing: [Failing] = [
    Failing(
      arguments: ["setup", "/run/netns/does-not-exist"], input: request, failure: nil,
      message: "invalid namespace path: IO error: No such file or directory (os error 2)"),
    Failing(
      arguments: ["--file", "/does/not/exist.json", "teardown", "/ns"], input: request, failure: nil,
      message: "failed to load network options: IO error: No such file or directory (os error 2)"),
    Failing(
      arguments: ["teardown", "/ns"], input: "", failure: nil,
      message: "failed to load network options: IO error: The given data was not valid JSON."),
    Failing(
      arguments: ["setup", "/proc/self/ns/net"], input: request,
      failure: NetworkError(.io, "create veth: File exists \"eth0\"\nsecond line"),
      message: "create veth: File exists \"eth0\"\nsecond line"),
    Failing(
      arguments: ["update", "--network-dns-servers", "1.1.1.1", "web"], input: "",
      failure: NetavarkError(command: "update", message: "netavark's own words", termination: nil, stderr: ""),
      message: "netavark's own words"),
    Failing(
      arguments: ["teardown", "/ns"], input: request, failure: CancellationError(), message: "cancelled"),
  ]

  /// Every failure is one `{"error":"…"}` line on stdout (where Podman reads it) and status 1, as netavark's.
  @Test(arguments: failing)
  func failuresAreNetavarksErrorJSON(_ case: Failing) async throws {
    let (outcome, stdout, stderr) = await Self.run(
      `case`.arguments, input: `case`.input, dataplane: RecordingDataplane(failure: `case`.failure))
    #expect(outcome.status == 1)
    #expect(stderr.isEmpty)
    #expect(stdout.hasSuffix("}\n") && stdout.filter { $0 == "\n" }.count == 1, "\(stdout)")
    let decoded = try JSONDecoder().decode([String: String].self, from: Data(stdout.utf8))
    #expect(decoded == ["error": `case`.message])
  }

  @Test func errorJSONIsCompactWithNetavarksKey() {
    #expect(String(decoding: NetavarkOutput.error("a \"b\" <c>"), as: UTF8.self) == #"{"error":"a \"b\" <c>"}"# + "\n")
  }

  @Test func aFactoryThatFailsIsAnErrorToo() async {
    let outcome = await NetavarkDropIn.run(
      ["teardown", "/ns"], readStandardInput: { Array(Self.request.utf8) },
      makeDataplane: { _ in throw NetworkError(.notSupported, "no dataplane here") })
    #expect(
      outcome == NetavarkDropIn.Outcome(status: 1, standardOutput: Array("{\"error\":\"no dataplane here\"}\n".utf8)))
  }

  // MARK: - version

  @Test func versionIsNetavarksJSONWithOurVersion() async throws {
    let (outcome, stdout, _) = await Self.run(["version"])
    #expect(outcome.status == 0)
    let value = try JSONValue.parse(stdout)
    #expect(value.objectValue?.keys == ["version", "commit", "build_time", "target"])
    #expect(value["version"]?.stringValue == CNet.version)
    #expect(value["target"]?.stringValue?.hasSuffix("-unknown-linux-gnu") == true)
    // serde_json's pretty layout: two spaces, `": "`, and println's newline.
    #expect(stdout.hasPrefix("{\n  \"version\": \"\(CNet.version)\",\n  \"commit\": \"\",\n"))
    #expect(stdout.hasSuffix("\"\n}\n"))
  }

  // MARK: - argv[0]

  @Test(arguments: [
    ("netavark", true), ("/usr/libexec/cnet/netavark", true), ("./netavark", true), ("cnet", false),
    ("/usr/bin/cnet", false), ("netavark-real", false), ("/netavark/cnet", false),
  ])
  func programNameSelectsTheDropIn(_ name: String, _ dropIn: Bool) {
    #expect(NetavarkDropIn.isInvoked(as: name) == dropIn)
  }

  /// The built binary, through a symbolic link named netavark and as `cnet netavark`.
  @Test func theBinaryAnswersAsNetavark() throws {
    let binary = try CNetBinary.require()
    let directory = try TemporaryDirectory(prefix: "nv-dropin")
    defer { directory.remove() }
    let link = directory.appending("netavark")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: binary)
    var environment = ProcessInfo.processInfo.environment
    environment[NetavarkDropIn.delegateVariable] = nil
    for command in [[link], [binary, "netavark"]] {
      let version = try runCommand(command + ["version"], environment: environment)
      #expect(try JSONValue.parse(version.stdout)["version"]?.stringValue == CNet.version)
      let flag = try runCommand(command + ["--version"], environment: environment)
      #expect(flag.stdout == "netavark \(CNet.version)\n")

      let missing = try runCommand(
        command + ["--config", directory.path, "--file", directory.appending("nope.json"), "teardown", "/ns"],
        environment: environment, check: false)
      #expect(missing.status == 1 && missing.stderr.isEmpty)
      #expect(
        missing.stdout
          == #"{"error":"failed to load network options: IO error: No such file or directory (os error 2)"}"# + "\n")

      let usage = try runCommand(command + ["setup"], environment: environment, check: false)
      #expect(usage.status == 2 && usage.stdout.isEmpty)
      #expect(usage.stderr.hasPrefix("error: The following required arguments were not provided:"))

    }
    // Plain `cnet` is still cnet.
    #expect(try runCommand([binary, "version"], environment: environment).stdout == "cnet version \(CNet.version)\n")
  }
}
