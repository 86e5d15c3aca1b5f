import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `cnet create | ls | inspect | rm | prune | exists | update` run as a built binary against a private config
/// directory: stdout, stderr and exit status of every format and every error path. No plugin runs here.
@Suite struct ManagementCommandTests {
  /// A random subnet outside Podman's pool (10.89.0.0/16), for tests that only need some subnet.
  static func uniqueSubnet() -> String { "10.\(Int.random(in: 100...199)).\(Int.random(in: 0...255)).0/24" }

  @Test func createPrintsTheNameAndLsShowsIt() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("cli")
      let result = try cnet.cnet(["create", "--subnet", Self.uniqueSubnet(), name])
      #expect(result.status == 0)
      #expect(result.stdout == "\(name)\n")
      #expect(result.stderr == "")
      let listing = try cnet.succeed(["ls"])
      let lines = listing.split(separator: "\n").map(String.init)
      #expect(lines.first?.hasPrefix("NETWORK ID    NAME") == true)
      let row = try #require(lines.first { $0.contains(name) })
      let id = String(row.prefix(12))
      #expect(id.allSatisfy { $0.isHexDigit })
      #expect(row.hasSuffix("  bridge"))
      #expect(lines.contains { $0.hasPrefix("2f259bab93aa  podman") })
      #expect(FileManager.default.fileExists(atPath: "\(cnet.configDir)/\(name).conflist"))
    }
  }

  /// Name filters are Go's RE2 syntax in linear time: a pattern that backtracks exponentially in Swift's `Regex`
  /// (over 15 s of CPU at 30 characters) answers at once; unsupported syntax is refused with its reason.
  @Test func nameFiltersRunInLinearTime() async throws {
    try await withSandbox { cnet in
      let long = String(repeating: "a", count: 199)
      try cnet.succeed(["create", "--disable-dns", "--subnet", Self.uniqueSubnet(), long])
      try cnet.succeed(["create", "--disable-dns", "--subnet", Self.uniqueSubnet(), long + "b"])
      #expect(try cnet.succeed(["ls", "-q", "--filter", "name=^(a|a)*b$"]) == long + "b\n")
      #expect(try cnet.succeed(["ls", "-q", "--filter", "name=(?i)^A+$"]) == long + "\n")
      let refused = try cnet.cnet(["ls", "--filter", "name=(?=a)"])
      #expect(refused.status == 125)
      #expect(refused.stderr == "Error: invalid filter name=(?=a): invalid or unsupported Perl syntax: `(?=`\n")
    }
  }

  /// The reader skips config files over 1 MiB; create refuses to write one, so no network exists that ls, inspect
  /// and rm cannot see, and a second create cannot write over it.
  @Test func createRefusesANetworkTooLargeToReadBack() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("big")
      let label = String(repeating: "x", count: 120_000)
      let labels = (0..<10).flatMap { ["--label", "l\($0)=\(label)"] }
      let result = try cnet.cnet(["create", "--disable-dns", "--subnet", Self.uniqueSubnet()] + labels + [name])
      #expect(result.status == 125)
      #expect(
        result.stderr
          == "Error: network \(name) would be written as 1172 KiB, over the 1024 KiB a config file may have: use fewer or shorter labels and options\n"
      )
      #expect(!FileManager.default.fileExists(atPath: "\(cnet.configDir)/\(name).conflist"))
      #expect(try cnet.cnet(["exists", name]).status == 1)
    }
  }

  /// A file of the network's name that the scan skips belongs to the user: create does not write over it.
  @Test func createDoesNotOverwriteAnUnreadableFileOfTheSameName() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("brk")
      let path = "\(cnet.configDir)/\(name).conflist"
      try "{ not json".write(toFile: path, atomically: true, encoding: .utf8)
      let result = try cnet.cnet(["create", "--disable-dns", name])
      #expect(result.status == 125)
      #expect(
        result.stderr.hasSuffix(
          "Error: network name \(name) is taken by \(path), which is not a readable network: fix or remove that file\n"),
        "\(result.stderr)")
      #expect(try String(contentsOfFile: path, encoding: .utf8) == "{ not json")
    }
  }

  /// host-local cannot allocate from a /31 or /32 (nor /127, /128): such a network could never attach anything.
  @Test(arguments: ["10.231.9.3/32", "10.231.9.0/31", "fd42:9::1/128", "fd42:9::/127"])
  func createRefusesASubnetWithoutRoomForContainers(subnet: String) async throws {
    try await withSandbox { cnet in
      let result = try cnet.cnet(["create", "--disable-dns", "--subnet", subnet, UniqueName.make("tiny")])
      #expect(result.status == 125)
      #expect(result.stderr.contains("is too small: it leaves no address for containers"), "\(result.stderr)")
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: cnet.configDir).filter { $0.hasSuffix(".conflist") } == [])
    }
  }

  /// Among many unknown networks, the error names the first one given (the options were a dictionary, so it named
  /// a random one).
  @Test func setupNamesTheFirstUnknownNetwork() async throws {
    try await withSandbox { cnet in
      let namespace = cnet.root.appending("not-a-namespace")
      _ = FileManager.default.createFile(atPath: namespace, contents: nil)
      let networks = (0..<300).flatMap { ["--network", String(format: "unknown%03d", $0)] }
      let result = try cnet.cnet(["setup", "--container-id", "u1"] + networks + [namespace])
      #expect(result.status == 125)
      #expect(result.stderr == "Error: unable to find network with name or ID unknown000: network not found\n")
    }
  }

  @Test func createWithEveryOptionShowsInInspect() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("opt")
      let output = try cnet.succeed([
        "create", "--subnet", "10.231.77.0/24", "--gateway", "10.231.77.254", "--ip-range", "10.231.77.128/25",
        "--subnet", "fd42:77::/64", "--ipv6", "--disable-dns", "--label", "team=net", "--label", "empty",
        "-o", "mtu=1400", "--interface-name", "br-\(name.suffix(6))", name,
      ])
      #expect(output == "\(name)\n")
      let json = try #require(try parseJSON(try cnet.succeed(["inspect", name])) as? [[String: Any]])
      let network = try #require(json.first)
      #expect(network["name"] as? String == name)
      #expect(network["driver"] as? String == "bridge")
      #expect(network["network_interface"] as? String == "br-\(name.suffix(6))")
      #expect(network["ipv6_enabled"] as? Bool == true)
      #expect(network["dns_enabled"] as? Bool == false)
      #expect(network["labels"] as? [String: String] == ["team": "net", "empty": ""])
      #expect(network["options"] as? [String: String] == ["mtu": "1400"])
      let subnets = try #require(network["subnets"] as? [[String: Any]])
      #expect(subnets.count == 2)
      #expect(subnets.first?["gateway"] as? String == "10.231.77.254")
      #expect(
        subnets.first?["lease_range"] as? [String: String] == [
          "start_ip": "10.231.77.129", "end_ip": "10.231.77.255",
        ])
    }
  }

  @Test func internalNetworkWarnsOnStderrOnly() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("int")
      let result = try cnet.cnet(["create", "--internal", "--subnet", Self.uniqueSubnet(), name])
      #expect(result.status == 0)
      #expect(result.stdout == "\(name)\n")
      #expect(result.stderr.hasPrefix("time=\""))
      #expect(
        result.stderr.hasSuffix(
          "level=warning msg=\"dnsname and internal networks are incompatible. dnsname plugin not configured for network \(name)\"\n"
        ))
      let quiet = try cnet.cnet([
        "create", "--log-level", "error", "--internal", "--subnet", Self.uniqueSubnet(), name + "q",
      ])
      #expect(quiet.status == 0)
      #expect(quiet.stderr == "")
    }
  }

  @Test func createWithoutANameTakesTheNextCNIPodmanName() async throws {
    try await withSandbox { cnet in
      let first = try cnet.succeed(["create", "--subnet", "10.231.70.0/24"])
      let second = try cnet.succeed(["create", "--subnet", "10.231.71.0/24"])
      #expect(first == "cni-podman1\n")
      #expect(second == "cni-podman2\n")
    }
  }

  @Test func duplicateNameUsesPodmansWordingAndIgnoreSucceeds() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("dup")
      try cnet.succeed(["create", "--subnet", Self.uniqueSubnet(), name])
      let again = try cnet.cnet(["create", name])
      #expect(again.status == 125)
      #expect(again.stdout == "")
      #expect(again.stderr == "Error: network name \(name) already used: network already exists\n")
      let ignored = try cnet.cnet(["create", "--ignore", name])
      #expect(ignored.status == 0)
      #expect(ignored.stdout == "\(name)\n")
    }
  }

  static let createErrors: [([String], String)] = [
    (["--subnet", "10.0.0.0/33", "x1"], "Error: invalid subnet 10.0.0.0/33\n"),
    (["--subnet", "banana", "x1"], "Error: invalid subnet banana\n"),
    (["--subnet", "10.231.1.0/24", "--gateway", "10.231.1.300", "x1"], "Error: invalid gateway 10.231.1.300\n"),
    (["--gateway", "10.231.1.1", "x1"], "Error: cannot set gateway or range without subnet\n"),
    (
      ["--subnet", "10.231.1.0/24", "--gateway", "10.231.1.1", "--gateway", "10.231.1.2", "x1"],
      "Error: cannot set more gateways than subnets\n"
    ),
    (["--ip-range", "10.231.1.0/25", "x1"], "Error: cannot set gateway or range without subnet\n"),
    (
      ["--subnet", "10.231.1.0/24", "--ip-range", "10.231.1.0/25", "--ip-range", "10.231.1.128/25", "x1"],
      "Error: cannot set more ranges than subnets\n"
    ),
    (["--label", "=v", "x1"], "Error: invalid label =v\n"),
    (["-o", "=1", "x1"], "Error: invalid option =1\n"),
    (["-o", "nosuchopt=1", "x1"], "Error: unsupported network option nosuchopt\n"),
    (
      ["bad name"],
      "Error: network name \"bad name\" invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument\n"
    ),
  ]

  @Test(arguments: createErrors)
  func createErrorsAreOneLineWithStatus125(_ arguments: [String], _ expected: String) async throws {
    try await withSandbox { cnet in
      let result = try cnet.cnet(["create"] + arguments)
      #expect(result.status == 125)
      #expect(result.stdout == "")
      #expect(result.stderr == expected)
    }
  }

  @Test func lsFormats() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("fmt")
      try cnet.succeed(["create", "--subnet", "10.231.40.0/24", "--label", "k=v", name])
      let id = try cnet.succeed(["inspect", "--format", "{{.ID}}", name]).trimmingCharacters(in: .newlines)
      #expect(id.count == 64)
      let podmanID = "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9"
      let sorted = [(id, name), (podmanID, "podman")].sorted { $0.1 < $1.1 }

      // The default table: 12-character IDs, columns padded like Go's tabwriter.
      func table(_ idWidth: Int) -> String {
        let idColumn = max(idWidth, 10) + 2
        let nameColumn = max(name.count + 2, 12)
        func row(_ a: String, _ b: String, _ c: String) -> String {
          a.padding(toLength: idColumn, withPad: " ", startingAt: 0)
            + b.padding(toLength: nameColumn, withPad: " ", startingAt: 0) + c
        }
        return
          ([row("NETWORK ID", "NAME", "DRIVER")]
          + sorted.map { row(String($0.0.prefix(idWidth)), $0.1, "bridge") }).joined(separator: "\n") + "\n"
      }
      #expect(try cnet.succeed(["ls"]) == table(12))
      #expect(try cnet.succeed(["ls", "--format", "table"]) == table(12))
      #expect(try cnet.succeed(["list"]) == table(12))
      #expect(try cnet.succeed(["ls", "--no-trunc"]) == table(64))
      #expect(try cnet.succeed(["ls", "-q"]) == sorted.map { $0.1 + "\n" }.joined())
      #expect(try cnet.succeed(["ls", "--quiet", "--filter", "name=\(name)"]) == "\(name)\n")

      // JSON: an array of network objects with Podman's field names, two-space indentation.
      let json = try cnet.succeed(["ls", "--format", "json"])
      #expect(json.hasPrefix("[\n  {\n    \"name\": "))
      let array = try #require(try parseJSON(json) as? [[String: Any]])
      #expect(array.map { $0["name"] as? String } == sorted.map { $0.1 })
      #expect(array.first { $0["name"] as? String == name }?["labels"] as? [String: String] == ["k": "v"])

      // Templates: fields with literal text between, tabs aligned like Podman's tabwriter, {{json .}}.
      #expect(
        try cnet.succeed(["ls", "--format", "{{.Name}}:{{.Driver}}:{{.Internal}}:{{.DNSEnabled}}"])
          == sorted.map { "\($0.1):bridge:false:\($0.1 == "podman" ? "false" : "true")\n" }.joined())
      #expect(
        try cnet.succeed([
          "ls", "--filter", "name=\(name)", "--format", "{{.ID}} {{.NetworkInterface}} {{.Subnets}} {{.Labels}}",
        ])
          == "\(id.prefix(12)) cni-podman1 [{10.231.40.0/24 10.231.40.1 <nil>}] k=v\n")
      // ls hands templates Podman's ListPrintReports: .ID cut unless --no-trunc, .Labels as k=v,k=v.
      #expect(
        try cnet.succeed(["ls", "--no-trunc", "--filter", "name=\(name)", "--format", "{{.ID}}"]) == "\(id)\n")
      // Podman's spelling with the `network` word, global options first.
      #expect(try cnet.succeed(["network", "ls", "--filter", "name=\(name)", "--format", "{{.Name}}"]) == "\(name)\n")
      let tabbed = try cnet.succeed(["ls", "--format", "table {{.Name}}\\t{{.Driver}}"])
      let nameColumn = max(name.count + 2, 12)
      #expect(
        tabbed
          == (["NAME".padding(toLength: nameColumn, withPad: " ", startingAt: 0) + "DRIVER"]
          + sorted.map { $0.1.padding(toLength: nameColumn, withPad: " ", startingAt: 0) + "bridge" })
          .joined(separator: "\n") + "\n")
      let lines = try cnet.succeed(["ls", "--format", "{{json .}}"]).split(separator: "\n")
      #expect(lines.count == 2)
      for line in lines {
        let object = try #require(try parseJSON(String(line)) as? [String: Any])
        #expect(object["driver"] as? String == "bridge")
      }
      #expect(lines.allSatisfy { $0.hasPrefix("{\"name\":\"") })
    }
  }

  @Test func lsFilters() async throws {
    try await withSandbox { cnet in
      let a = UniqueName.make("fa")
      let b = UniqueName.make("fb")
      try cnet.succeed(["create", "--subnet", "10.231.41.0/24", "--label", "team=net", a])
      try cnet.succeed(["create", "--subnet", "10.231.42.0/24", b])
      #expect(try cnet.succeed(["ls", "-q", "--filter", "label=team=net"]) == "\(a)\n")
      #expect(try cnet.succeed(["ls", "-q", "--filter", "label=team"]) == "\(a)\n")
      #expect(try cnet.succeed(["ls", "-q", "-f", "name=\(b)"]) == "\(b)\n")
      #expect(try cnet.succeed(["ls", "-q", "--filter", "driver=macvlan"]) == "")
      #expect(try cnet.succeed(["ls", "-q", "--filter", "id=2f259bab93aa"]) == "podman\n")
      // Podman never counts its default network as dangling.
      #expect(
        try cnet.succeed(["ls", "-q", "--filter", "dangling=true"]) == [a, b].sorted().map { $0 + "\n" }.joined())
      #expect(try cnet.succeed(["ls", "-q", "--filter", "dangling=false"]) == "podman\n")
      // until in Podman's forms without a zone (local time), as well as RFC 3339.
      #expect(try cnet.succeed(["ls", "-q", "--filter", "until=2000-01-01"]) == "")
      #expect(
        try cnet.succeed(["ls", "-q", "--filter", "until=2999-01-01T10:30", "--filter", "name=\(a)"]) == "\(a)\n")
      let badTime = try cnet.cnet(["ls", "--filter", "until=soon"])
      #expect(badTime.stderr == "Error: failed to parse value as time or duration: \"soon\"\n")
      let bad = try cnet.cnet(["ls", "--filter", "color=red"])
      #expect(bad.status == 125)
      #expect(bad.stdout == "")
      #expect(
        bad.stderr
          == "Error: invalid filter \"color\"\n"
      )
      let badTemplate = try cnet.cnet(["ls", "--format", "{{.Nope}}"])
      #expect(badTemplate.status == 125)
      #expect(badTemplate.stdout == "")
      #expect(badTemplate.stderr.hasPrefix("Error: template: can't evaluate field Nope in type types.Network"))
    }
  }

  @Test func inspectFormatsAndErrors() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("ins")
      try cnet.succeed(["create", "--subnet", "10.231.43.0/24", name])
      let text = try cnet.succeed(["inspect", name])
      // Podman's inspect layout: a JSON array indented by five spaces.
      #expect(text.hasPrefix("[\n     {\n          \"name\": \"\(name)\",\n          \"id\": \""))
      #expect(text.hasSuffix("\n     }\n]\n"))
      let id = try cnet.succeed(["inspect", "-f", "{{.ID}}", name]).trimmingCharacters(in: .newlines)
      // By full ID and by an ID prefix; several at once.
      #expect(try cnet.succeed(["inspect", id]) == text)
      #expect(try cnet.succeed(["inspect", String(id.prefix(10))]) == text)
      let both = try #require(try parseJSON(try cnet.succeed(["inspect", name, "podman"])) as? [[String: Any]])
      #expect(both.map { $0["name"] as? String } == [name, "podman"])
      #expect(try cnet.succeed(["inspect", "--format", "json", name]) == text)
      #expect(
        try cnet.succeed(["inspect", "--format", "{{.Name}} {{.Driver}} {{json .Subnets}}", name, "podman"])
          == "\(name) bridge [{\"subnet\":\"10.231.43.0/24\",\"gateway\":\"10.231.43.1\"}]\n"
          + "podman bridge [{\"subnet\":\"10.88.0.0/16\",\"gateway\":\"10.88.0.1\"}]\n")
      let compact = try cnet.succeed(["inspect", "--format", "{{json .}}", name])
      #expect(compact.split(separator: "\n").count == 1)
      #expect((try parseJSON(compact) as? [String: Any])?["id"] as? String == id)

      // Unknown: `[]` on stdout like Podman, the error on stderr, status 125.
      let missing = try cnet.cnet(["inspect", "nosuchnet"])
      #expect(missing.status == 125)
      #expect(missing.stdout == "[]\n")
      #expect(
        missing.stderr
          == "Error: inspecting object: network nosuchnet: unable to find network with name or ID nosuchnet: network not found\n"
      )
      // Known and unknown: the known one is printed, and the status is still 125.
      let mixed = try cnet.cnet(["inspect", name, "nosuchnet"])
      #expect(mixed.status == 125)
      #expect(mixed.stdout == text)
      #expect(mixed.stderr.hasPrefix("Error: inspecting object: network nosuchnet"))
    }
  }

  @Test func rmPrintsNamesAndUsesPodmansStatuses() async throws {
    try await withSandbox { cnet in
      let a = UniqueName.make("rma")
      let b = UniqueName.make("rmb")
      try cnet.succeed(["create", "--subnet", "10.231.44.0/24", a])
      try cnet.succeed(["create", "--subnet", "10.231.45.0/24", b])
      #expect(try cnet.succeed(["rm", a]) == "\(a)\n")
      #expect(!FileManager.default.fileExists(atPath: "\(cnet.configDir)/\(a).conflist"))
      #expect(try cnet.succeed(["remove", "-f", b]) == "\(b)\n")

      let missing = try cnet.cnet(["rm", "nosuchnet"])
      #expect(missing.status == 1)
      #expect(missing.stdout == "")
      #expect(missing.stderr == "Error: unable to find network with name or ID nosuchnet: network not found\n")

      let defaultNetwork = try cnet.cnet(["rm", "podman"])
      #expect(defaultNetwork.status == 125)
      #expect(defaultNetwork.stderr == "Error: default network podman cannot be removed\n")

      // One good, one missing: the good one is removed and printed, the error decides the status.
      let c = UniqueName.make("rmc")
      try cnet.succeed(["create", "--subnet", "10.231.46.0/24", c])
      let partial = try cnet.cnet(["rm", c, "nosuchnet"])
      #expect(partial.status == 1)
      #expect(partial.stdout == "\(c)\n")
      #expect(partial.stderr == "Error: unable to find network with name or ID nosuchnet: network not found\n")
    }
  }

  @Test func pruneAsksUnlessForced() async throws {
    try await withSandbox { cnet in
      let a = UniqueName.make("pra")
      let b = UniqueName.make("prb")
      try cnet.succeed(["create", "--subnet", "10.231.47.0/24", "--label", "keep=yes", a])
      try cnet.succeed(["create", "--subnet", "10.231.48.0/24", b])
      let declined = try cnet.cnet(["prune"], input: "n\n")
      #expect(declined.status == 0)
      #expect(declined.stdout == "")
      #expect(declined.stderr.hasPrefix("WARNING! This will remove all networks not used by at least one container."))
      #expect(try cnet.succeed(["ls", "-q"]).split(separator: "\n").count == 3)

      let filtered = try cnet.cnet(["prune", "--filter", "label=keep=yes"], input: "y\n")
      #expect(filtered.status == 0)
      #expect(filtered.stdout == "\(a)\n")
      #expect(try cnet.succeed(["prune", "-f"]) == "\(b)\n")
      #expect(try cnet.succeed(["ls", "-q"]) == "podman\n")
      #expect(try cnet.succeed(["prune", "--force"]) == "")
    }
  }

  @Test func existsAnswersWithItsStatusOnly() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("ex")
      try cnet.succeed(["create", "--subnet", "10.231.49.0/24", name])
      for (network, status) in [(name, Int32(0)), ("podman", 0), ("nosuchnet", 1)] {
        let result = try cnet.cnet(["exists", network])
        #expect(result.status == status, "exists \(network)")
        #expect(result.stdout == "")
        #expect(result.stderr == "")
      }
    }
  }

  /// A result-cache entry as a setup into the namespace at `netns` leaves it (no plugin needed to fake a user).
  static func fakeAttachment(_ cnet: CNetSandbox, network: String, container: String, netns: String) throws {
    let conflist = try Data(contentsOf: URL(fileURLWithPath: "\(cnet.configDir)/\(network).conflist"))
    let entry: [String: Any] = [
      "kind": "cniCacheV1", "containerId": container, "config": conflist.base64EncodedString(), "ifName": "eth0",
      "networkName": network, "netns": netns,
    ]
    try FileManager.default.createDirectory(atPath: cnet.cacheDir + "/results", withIntermediateDirectories: true)
    try JSONSerialization.data(withJSONObject: entry).write(
      to: URL(fileURLWithPath: "\(cnet.cacheDir)/results/\(network)-\(container)-eth0"))
  }

  @Test func podmansRemainingListAndRemoveFlags() async throws {
    try await withSandbox { cnet in
      let used = UniqueName.make("used")
      let free = UniqueName.make("free")
      try cnet.succeed(["create", "--disable-dns", "--subnet", "10.231.70.0/24", "--label", "team=a", used])
      try cnet.succeed(["create", "--disable-dns", "--subnet", "10.231.71.0/24", "--label", "team=b", free])
      // A live container: its namespace exists (this process's own stands in; nothing is run in it).
      try Self.fakeAttachment(cnet, network: used, container: "c0ffee", netns: "/proc/self/ns/net")
      // Podman never counts its default network as dangling.
      #expect(try cnet.succeed(["ls", "-q", "--filter", "dangling=true"]) == "\(free)\n")
      #expect(try cnet.succeed(["ls", "-q", "--filter", "dangling=false"]) == "podman\n\(used)\n")
      #expect(try cnet.succeed(["ls", "-q", "--filter", "label!=team=a"]) == "\(free)\npodman\n")
      #expect(try cnet.succeed(["ls", "-q", "--filter", "label!=team"]) == "podman\n")
      let table = try cnet.succeed(["ls", "--noheading", "--filter", "name=\(free)"])
      #expect(table.split(separator: "\n").count == 1 && table.contains(free) && !table.contains("NETWORK ID"))
      #expect(try cnet.succeed(["ls", "-n", "--filter", "name=nomatch"]) == "")
      let bad = try cnet.cnet(["ls", "--filter", "dangling=maybe"])
      #expect(bad.status == 125 && bad.stderr == "Error: invalid filter dangling=maybe: expected true or false\n")
      // Podman 5's exit codes: 2 for a network in use, 1 for one that does not exist; -t is accepted.
      let inUse = try cnet.cnet(["rm", "-t", "5", used])
      #expect(inUse.status == 2, "\(inUse.stderr)")
      #expect(inUse.stderr.contains("is being used by 1 container(s) (c0ffee)"))
      #expect(try cnet.cnet(["rm", "--time", "0", "nosuchnet"]).status == 1)
      #expect(try cnet.succeed(["rm", "-t", "0", free]) == "\(free)\n")
    }
  }

  @Test func gcRemovesOldReservationsThatNoContainerOwns() async throws {
    try await withSandbox { cnet in
      let network = UniqueName.make("orph")
      try cnet.succeed(["create", "--disable-dns", "--subnet", "10.231.72.0/24", network])
      let directory = "\(cnet.hostLocalDir)/\(network)"
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      for (ip, age) in [("10.231.72.7", 3600), ("10.231.72.8", 0)] {
        let path = "\(directory)/\(ip)"
        try "ghost\r\neth0".write(toFile: path, atomically: false, encoding: .utf8)
        var times = [timeval(tv_sec: time(nil) - age, tv_usec: 0), timeval(tv_sec: time(nil) - age, tv_usec: 0)]
        #expect(utimes(path, &times) == 0)
      }
      // A live container's reservation is its own.
      try Self.fakeAttachment(cnet, network: network, container: "alive", netns: "/proc/self/ns/net")
      try "alive\r\neth0".write(toFile: "\(directory)/10.231.72.9", atomically: false, encoding: .utf8)
      let line = "ghost \(network) reservation 10.231.72.7\n"
      #expect(try cnet.succeed(["gc", "--dry-run"]) == line)
      #expect(FileManager.default.fileExists(atPath: "\(directory)/10.231.72.7"))
      #expect(try cnet.succeed(["gc"]) == line)
      // Only the old, unowned one goes: a young one may belong to a setup still running in another process.
      #expect(!FileManager.default.fileExists(atPath: "\(directory)/10.231.72.7"))
      #expect(FileManager.default.fileExists(atPath: "\(directory)/10.231.72.8"))
      #expect(FileManager.default.fileExists(atPath: "\(directory)/10.231.72.9"))
    }
  }

  @Test func createDNSIsRefusedByTheCNIBackendWithPodmansText() async throws {
    try await withSandbox { cnet in
      let result = try cnet.cnet(["create", "--dns", "192.0.2.53", UniqueName.make("cdns")])
      #expect(result.status == 125)
      #expect(
        result.stderr
          == "Error: NetworkDNSServers cannot be configured for backend CNI: invalid argument (use the netavark backend)\n"
      )
      #expect(try cnet.succeed(["ls", "-q"]) == "podman\n")
    }
  }

  @Test func updateSaysClearlyThatCNICannot() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("up")
      try cnet.succeed(["create", "--subnet", "10.231.50.0/24", name])
      let result = try cnet.cnet(["update", name, "--dns-add", "10.0.0.53", "--dns-drop", "10.0.0.54"])
      #expect(result.status == 125)
      #expect(result.stdout == "")
      #expect(
        result.stderr == "Error: network update is not supported by the cni backend; use the netavark backend\n")
      let invalid = try cnet.cnet(["update", name, "--dns-add", "not-an-ip"])
      #expect(invalid.status == 125)
      #expect(invalid.stderr == "Error: invalid DNS server not-an-ip\n")
    }
  }
}
