import Foundation
import NetworkAddress
import TestSupport
import Testing

@testable import ContainersConf

/// Fixtures live beside this file and are read by path, not as resources.
private func fixture(_ name: String) -> String {
  URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

/// A throwaway tree laid out like `/`, with search paths pointing into it.
private struct Tree {
  let directory: TemporaryDirectory
  let searchPaths: ContainersConf.SearchPaths

  static let distribution = "usr/share/containers/containers.conf"
  static let system = "etc/containers/containers.conf"
  static let dropIns = "etc/containers/containers.conf.d"

  init() throws {
    directory = try TemporaryDirectory(prefix: "cnet-conf")
    searchPaths = ContainersConf.SearchPaths(
      distributionFile: directory.appending(Self.distribution), systemFile: directory.appending(Self.system),
      dropInDirectory: directory.appending(Self.dropIns))
  }

  /// Writes `text` to `relativePath`, creating its directories, and returns the full path.
  @discardableResult
  func write(_ relativePath: String, _ text: String) throws -> String {
    try write(relativePath, Data(text.utf8))
  }

  @discardableResult
  func write(_ relativePath: String, _ data: Data) throws -> String {
    let path = directory.appending(relativePath)
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    try data.write(to: URL(fileURLWithPath: path))
    return path
  }

  func makeDirectory(_ relativePath: String) throws {
    try FileManager.default.createDirectory(
      atPath: directory.appending(relativePath), withIntermediateDirectories: true)
  }

  func load(_ environment: [String: String] = [:]) throws(ContainersConfError) -> ContainersConf {
    try ContainersConf.load(environment: environment, searchPaths: searchPaths)
  }
}

private func network(_ text: String) -> IPNetwork { IPNetwork(text)! }

@Suite struct ContainersConfKeyTests {
  @Test func fullPodmanStyleFileGivesEveryKeyAndIgnoresTheRest() throws {
    let path = fixture("full.conf")
    let conf = try ContainersConf.load(environment: ["CONTAINERS_CONF": path])
    let expected = ContainersConf(
      networkBackend: "cni", networkConfigDirectory: "/etc/cni/net.d/", defaultNetwork: "podman",
      defaultSubnet: network("10.88.0.0/16"),
      defaultSubnetPools: [
        SubnetPool(base: network("10.89.0.0/16"), size: 24), SubnetPool(base: network("10.90.0.0/15"), size: 24),
        SubnetPool(base: network("10.128.0.0/9"), size: 26),
      ],
      cniPluginDirectories: ["/usr/local/libexec/cni", "/usr/libexec/cni", "/usr/lib/cni", "/opt/cni/bin"],
      firewallDriver: "iptables", dnsBindPort: 5353,
      helperBinariesDirectories: ["/usr/local/libexec/podman", "/usr/libexec/podman", "/usr/lib/podman"],
      files: [path])
    #expect(conf == expected)
  }

  @Test func commentedOutStockFileSetsNothing() throws {
    let path = fixture("commented.conf")
    let conf = try ContainersConf.load(environment: ["CONTAINERS_CONF": path])
    #expect(conf == ContainersConf(files: [path]))
  }

  @Test(
    arguments: [
      ("[network]\nnetwork_backend = \"netavark\"", \ContainersConf.networkBackend, "netavark"),
      (
        "[network]\nnetwork_config_dir = \"/etc/containers/networks\"", \.networkConfigDirectory,
        "/etc/containers/networks"
      ),
      ("[network]\ndefault_network = \"web\"", \.defaultNetwork, "web"),
      ("[network]\nfirewall_driver = \"nftables\"", \.firewallDriver, "nftables"),
      ("network.network_backend = 'cni'", \.networkBackend, "cni"),
      ("[Network]\nNetwork_Backend = \"cni\"", \.networkBackend, "cni"),
      ("[network]\nNETWORK_BACKEND = \"cni\"\nnetwork_backend = \"netavark\"", \.networkBackend, "netavark"),
    ] as [(String, KeyPath<ContainersConf, String?> & Sendable, String)])
  func stringKeys(toml: String, keyPath: KeyPath<ContainersConf, String?> & Sendable, value: String) throws {
    var conf = ContainersConf()
    try conf.merge(text: toml, file: "/test.conf")
    #expect(conf[keyPath: keyPath] == value)
    #expect(conf.files == ["/test.conf"])
  }

  @Test func subnetIsKeptAsWritten() throws {
    var conf = ContainersConf()
    try conf.merge(text: "[network]\ndefault_subnet = \"10.88.0.7/16\"", file: "/x.conf")
    #expect(conf.defaultSubnet?.description == "10.88.0.7/16")
    try conf.merge(text: "[network]\ndefault_subnet = \"fd00:1::/64\"", file: "/y.conf")
    #expect(conf.defaultSubnet == network("fd00:1::/64"))
  }

  @Test func poolsAsArrayOfTablesAndDnsPortBounds() throws {
    var conf = ContainersConf()
    try conf.merge(
      text: """
        [[network.default_subnet_pools]]
        base = "10.10.0.0/16"
        size = 16
        comment = "unknown keys in a pool are ignored"

        [[network.default_subnet_pools]]
        Base = "192.168.0.0/16"
        Size = 32
        """, file: "/x.conf")
    #expect(
      conf.defaultSubnetPools == [
        SubnetPool(base: network("10.10.0.0/16"), size: 16), SubnetPool(base: network("192.168.0.0/16"), size: 32),
      ])
    try conf.merge(text: "[network]\ndns_bind_port = 1\ndefault_subnet_pools = []", file: "/y.conf")
    #expect(conf.dnsBindPort == 1)
    #expect(conf.defaultSubnetPools == [])
    try conf.merge(text: "[network]\ndns_bind_port = 65535", file: "/z.conf")
    #expect(conf.dnsBindPort == 65535)
  }

  @Test func emptyStringsAndPortZeroMeanTheDefault() throws {
    var conf = ContainersConf(
      networkBackend: "cni", networkConfigDirectory: "/d", defaultNetwork: "n", defaultSubnet: network("10.0.0.0/8"),
      firewallDriver: "iptables", dnsBindPort: 54)
    try conf.merge(
      text: """
        [network]
        network_backend = ""
        network_config_dir = ""
        default_network = ""
        default_subnet = ""
        firewall_driver = ""
        dns_bind_port = 0
        """, file: "/reset.conf")
    #expect(conf == ContainersConf(files: ["/reset.conf"]))
  }

  @Test func byteOrderMarkAndCRLFLineEndingsAreAccepted() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    let path = try tree.write(
      Tree.system, Data([0xEF, 0xBB, 0xBF]) + Data("[network]\r\ndefault_network = \"crlf\"\r\n".utf8))
    #expect(try tree.load() == ContainersConf(defaultNetwork: "crlf", files: [path]))
  }

  @Test func unknownKeysAndTablesAreIgnoredWhateverTheirType() throws {
    var conf = ContainersConf()
    try conf.merge(
      text: """
        top_level = 1
        [network]
        network_backend = "netavark"
        netavark_plugin_dirs = 5
        no_such_key = {nested = [1, 2, {deeper = true}]}
        [network.no_such_table]
        x = 1979-05-27T07:32:00Z
        [engine]
        runtime = 42
        [no_such_table]
        network_backend = 5
        [[array_of_tables]]
        a = 1
        """, file: "/x.conf")
    #expect(conf == ContainersConf(networkBackend: "netavark", files: ["/x.conf"]))
  }
}

@Suite struct ContainersConfPrecedenceTests {
  @Test func noFilesAtAllGivesAnEmptyConfiguration() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    #expect(try tree.load() == ContainersConf())
    #expect(try tree.load(["CONTAINERS_CONF": "", "CONTAINERS_CONF_OVERRIDE": ""]).files == [])
  }

  @Test func laterFilesOverrideKeyByKeyInPodmansOrder() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    let distribution = try tree.write(
      Tree.distribution,
      """
      [network]
      network_backend = "cni"
      default_network = "podman"
      default_subnet = "10.88.0.0/16"
      dns_bind_port = 53
      [engine]
      helper_binaries_dir = ["/usr/libexec/podman"]
      """)
    let system = try tree.write(
      Tree.system,
      """
      [network]
      network_backend = "netavark"
      firewall_driver = "iptables"
      """)
    let second = try tree.write("\(Tree.dropIns)/20-second.conf", "[network]\ndefault_network = \"second\"")
    let first = try tree.write("\(Tree.dropIns)/10-first.conf", "[network]\ndefault_network = \"first\"\n")
    let last = try tree.write("\(Tree.dropIns)/99-last.conf", "[network]\ndns_bind_port = 5353")
    try tree.write("\(Tree.dropIns)/30-ignored.conf.disabled", "[network]\ndefault_network = \"no\"")
    try tree.write("\(Tree.dropIns)/README", "not toml at all [")
    try tree.write("\(Tree.dropIns)/40-sub.conf/inner.conf", "[network]\ndefault_network = \"nested\"")

    let conf = try tree.load()
    #expect(conf.files == [distribution, system, first, second, last])
    #expect(conf.networkBackend == "netavark")
    #expect(conf.defaultNetwork == "second")
    #expect(conf.defaultSubnet == network("10.88.0.0/16"))
    #expect(conf.firewallDriver == "iptables")
    #expect(conf.dnsBindPort == 5353)
    #expect(conf.helperBinariesDirectories == ["/usr/libexec/podman"])
  }

  @Test func dropInsAreReadInByteOrderOfTheirNames() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    let names = ["b.conf", "9.conf", "a.conf", "B.conf", "10.conf", "_.conf", "é.conf"]
    for name in names { try tree.write("\(Tree.dropIns)/\(name)", "[network]\ndefault_network = \"\(name)\"") }
    let conf = try tree.load()
    let order = ["10.conf", "9.conf", "B.conf", "_.conf", "a.conf", "b.conf", "é.conf"]
    #expect(conf.files == order.map { tree.directory.appending("\(Tree.dropIns)/\($0)") })
    #expect(conf.defaultNetwork == "é.conf")
  }

  @Test func missingDefaultFilesAreSkipped() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    let only = try tree.write("\(Tree.dropIns)/only.conf", "[network]\nnetwork_backend = \"cni\"")
    #expect(try tree.load() == ContainersConf(networkBackend: "cni", files: [only]))
  }

  @Test func containersConfReplacesEveryDefaultFile() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    try tree.write(Tree.distribution, "[network]\nnetwork_backend = \"cni\"\ndefault_network = \"podman\"")
    try tree.write(Tree.system, "[network]\nfirewall_driver = \"iptables\"")
    try tree.write("\(Tree.dropIns)/a.conf", "[network]\ndns_bind_port = 5353")
    let chosen = try tree.write("chosen.conf", "[network]\nnetwork_backend = \"netavark\"")
    let conf = try tree.load(["CONTAINERS_CONF": chosen])
    #expect(conf == ContainersConf(networkBackend: "netavark", files: [chosen]))
  }

  @Test func containersConfNamingAMissingFileIsAnError() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    try tree.write(Tree.system, "[network]\nnetwork_backend = \"cni\"")
    let missing = tree.directory.appending("missing.conf")
    let error = #expect(throws: ContainersConfError.self) { try tree.load(["CONTAINERS_CONF": missing]) }
    #expect(error?.file == missing)
    #expect(error?.description == "containers.conf \(missing): no such file (named by CONTAINERS_CONF)")
  }

  @Test func overrideIsReadLastOverEverything() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    let system = try tree.write(Tree.system, "[network]\nnetwork_backend = \"cni\"\ndefault_network = \"podman\"")
    let dropIn = try tree.write("\(Tree.dropIns)/z.conf", "[network]\nnetwork_backend = \"netavark\"")
    let override = try tree.write("override.conf", "[network]\ndefault_network = \"ci\"")
    let conf = try tree.load(["CONTAINERS_CONF_OVERRIDE": override])
    #expect(
      conf == ContainersConf(networkBackend: "netavark", defaultNetwork: "ci", files: [system, dropIn, override]))

    let chosen = try tree.write("chosen.conf", "[network]\nfirewall_driver = \"nftables\"\ndefault_network = \"x\"")
    let both = try tree.load(["CONTAINERS_CONF": chosen, "CONTAINERS_CONF_OVERRIDE": override])
    #expect(both == ContainersConf(defaultNetwork: "ci", firewallDriver: "nftables", files: [chosen, override]))

    let missing = tree.directory.appending("nope.conf")
    let error = #expect(throws: ContainersConfError.self) { try tree.load(["CONTAINERS_CONF_OVERRIDE": missing]) }
    #expect(error?.description == "containers.conf \(missing): no such file (named by CONTAINERS_CONF_OVERRIDE)")
  }

  @Test func poolsAndListsFromALaterFileReplaceTheWholeArray() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    try tree.write(
      Tree.system,
      """
      [network]
      cni_plugin_dirs = ["/a", "/b"]
      default_subnet_pools = [{base = "10.89.0.0/16", size = 24}, {base = "10.90.0.0/15", size = 24}]
      """)
    try tree.write(
      "\(Tree.dropIns)/a.conf",
      "[network]\ncni_plugin_dirs = [\"/c\"]\ndefault_subnet_pools = [{base = \"172.16.0.0/12\", size = 20}]")
    let conf = try tree.load()
    #expect(conf.cniPluginDirectories == ["/c"])
    #expect(conf.defaultSubnetPools == [SubnetPool(base: network("172.16.0.0/12"), size: 20)])
  }

  @Test func mergeAfterLoadLayersOnTopAndLeavesTheValueAloneOnError() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    try tree.write(Tree.system, "[network]\nnetwork_backend = \"cni\"")
    var conf = try tree.load()
    let before = conf
    let bad = try tree.write("bad.conf", "[network]\ndefault_network = \"x\"\ndns_bind_port = -1")
    #expect(throws: ContainersConfError.self) { try conf.merge(file: bad) }
    #expect(conf == before)
    #expect(throws: ContainersConfError.self) { try conf.merge(file: tree.directory.appending("absent.conf")) }
    let extra = try tree.write("extra.conf", "[network]\ndefault_network = \"extra\"")
    try conf.merge(file: extra)
    #expect(conf.defaultNetwork == "extra")
    #expect(conf.networkBackend == "cni")
    #expect(conf.files.last == extra)
  }

  @Test func processEnvironmentHoldsOnlyTheTwoVariables() {
    let environment = ContainersConf.processEnvironment()
    #expect(Set(environment.keys).isSubset(of: ["CONTAINERS_CONF", "CONTAINERS_CONF_OVERRIDE"]))
  }
}

@Suite struct ContainersConfAppendTests {
  /// Files layered in order over nothing, then the resulting list and whether it extends the caller's defaults.
  @Test(arguments: [
    (["[engine]\nhelper_binaries_dir = [\"/a\"]"], ["/a"], false),
    (["[engine]\nhelper_binaries_dir = [\"/a\", {append = true}]"], ["/a"], true),
    (["[engine]\nhelper_binaries_dir = [{append = true}, \"/a\", \"/b\"]"], ["/a", "/b"], true),
    (["[engine]\nhelper_binaries_dir = [{append = true}]"], [], true),
    (["[engine]\nhelper_binaries_dir = []"], [], false),
    (
      ["[engine]\nhelper_binaries_dir = [\"/a\"]", "[engine]\nhelper_binaries_dir = [\"/b\", {append = true}]"],
      ["/a", "/b"], false
    ),
    // The attribute stays in force for later files, as in Podman, until a file turns it off.
    (
      [
        "[engine]\nhelper_binaries_dir = [\"/a\", {append = true}]", "[engine]\nhelper_binaries_dir = [\"/b\"]",
        "[network]\nnetwork_backend = \"cni\"",
      ], ["/a", "/b"], true
    ),
    (
      [
        "[engine]\nhelper_binaries_dir = [\"/a\", {append = true}]",
        "[engine]\nhelper_binaries_dir = [\"/b\", {append = false}]", "[engine]\nhelper_binaries_dir = [\"/c\"]",
      ], ["/c"], false
    ),
    (["[engine]\nhelper_binaries_dir = [\"/a\", {}]"], ["/a"], false),
  ])
  func appendAttribute(files: [String], expected: [String], extendsDefaults: Bool) throws {
    var conf = ContainersConf()
    for (index, text) in files.enumerated() { try conf.merge(text: text, file: "/\(index).conf") }
    #expect(conf.helperBinariesDirectories == expected)
    #expect(conf.listsExtendingDefaults.contains(.helperBinariesDirectories) == extendsDefaults)
    #expect(conf.cniPluginDirectories == nil)
    let defaults = ["/usr/libexec/podman"]
    #expect(conf.list(.helperBinariesDirectories, defaults: defaults) == (extendsDefaults ? defaults : []) + expected)
  }

  @Test func appendIsTrackedPerKeyAndAcrossLoadedFiles() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    try tree.write(Tree.distribution, "[network]\ncni_plugin_dirs = [\"/usr/lib/cni\"]")
    try tree.write(Tree.system, "[network]\ncni_plugin_dirs = [\"/opt/cni/bin\", {append = true}]")
    try tree.write("\(Tree.dropIns)/a.conf", "[network]\ncni_plugin_dirs = [\"/srv/cni\"]")
    let conf = try tree.load()
    #expect(conf.cniPluginDirectories == ["/usr/lib/cni", "/opt/cni/bin", "/srv/cni"])
    #expect(conf.listsAppending == [.cniPluginDirectories])
    #expect(conf.listsExtendingDefaults == [])
    #expect(conf.list(.cniPluginDirectories, defaults: ["/d"]) == ["/usr/lib/cni", "/opt/cni/bin", "/srv/cni"])
    #expect(conf.list(.helperBinariesDirectories, defaults: ["/d"]) == ["/d"])
    #expect(ContainersConf.ListKey.cniPluginDirectories.rawValue == "network.cni_plugin_dirs")
  }
}

@Suite struct ContainersConfErrorTests {
  @Test func malformedFileNamesFileLineAndColumn() throws {
    let path = fixture("malformed.conf")
    let error = #expect(throws: ContainersConfError.self) {
      try ContainersConf.load(environment: ["CONTAINERS_CONF": path])
    }
    #expect(error?.file == path)
    #expect(error?.line == 4)
    #expect(error?.column != nil)
    #expect(error?.key == nil)
    let description = error?.description ?? ""
    #expect(description.hasPrefix("containers.conf \(path): line 4, column "))
    #expect(description.contains("expected ']'"))
    #expect(!description.contains("\n"))
    #expect(!description.contains("(at line"))
  }

  @Test(arguments: [
    ("a = 1\n[network]\nnetwork_backend = \"x\"\nnetwork_backend = \"y\"\n", 4),
    ("[network]\n[network]\n", 2),
    ("\n\n\nkey = \n", 4),
    ("[network]\ndefault_subnet = \"unterminated\n", 2),
  ])
  func syntaxErrorsCarryTheirLine(toml: String, line: Int) throws {
    var conf = ContainersConf()
    let error = #expect(throws: ContainersConfError.self) { try conf.merge(text: toml, file: "/s.conf") }
    #expect(error?.line == line)
    #expect(error?.description.hasPrefix("containers.conf /s.conf: line \(line)") == true)
    #expect(error?.description.contains("\n") == false)
    #expect(conf == ContainersConf())
  }

  @Test func malformedDropInIsNamedInTheError() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    try tree.write(Tree.system, "[network]\nnetwork_backend = \"cni\"")
    let broken = try tree.write("\(Tree.dropIns)/50-broken.conf", "[network]\n\nfirewall_driver = = 1\n")
    let error = #expect(throws: ContainersConfError.self) { try tree.load() }
    #expect(error?.file == broken)
    #expect(error?.line == 3)
  }

  @Test func bytesTheParserWouldMisreadAreRejectedWithTheirLine() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    let invalid = try tree.write(Tree.system, Data("[network]\n# caf\u{E9}\n# \u{FF}".utf8) + Data([0xC3, 0x28]))
    let utf8Error = #expect(throws: ContainersConfError.self) { try tree.load() }
    #expect(utf8Error?.file == invalid)
    #expect(utf8Error?.line == 3)
    #expect(utf8Error?.message == "not valid UTF-8")

    try tree.write(Tree.system, Data("[network]\nnetwork_backend = \"cni\"\n\0\n".utf8))
    let nulError = #expect(throws: ContainersConfError.self) { try tree.load() }
    #expect(nulError?.line == 3)
    #expect(nulError?.message.contains("NUL") == true)
  }

  @Test func fileThatExistsButCannotBeReadIsAnError() throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    // A directory opens but does not read, which fails even for root, unlike a permission bit.
    try tree.makeDirectory(Tree.system)
    let error = #expect(throws: ContainersConfError.self) { try tree.load() }
    #expect(error?.file == tree.searchPaths.systemFile)
    #expect(error?.message.hasPrefix("cannot read: ") == true)

    try FileManager.default.removeItem(atPath: tree.searchPaths.systemFile)
    try tree.write(Tree.dropIns, "a file where the drop-in directory should be")
    let listing = #expect(throws: ContainersConfError.self) { try tree.load() }
    #expect(listing?.file == tree.searchPaths.dropInDirectory)
    #expect(listing?.message.hasPrefix("cannot list directory: ") == true)
  }

  @Test(arguments: [
    ("network = \"cni\"", "network", "expected a table, found a string"),
    ("engine = [1]", "engine", "expected a table, found an array"),
    ("[network]\nnetwork_backend = 5", "network.network_backend", "expected a string, found an integer (5)"),
    ("[network]\nnetwork_config_dir = 1.5", "network.network_config_dir", "expected a string, found a floating"),
    ("[network]\ndefault_network = 1979-05-27", "network.default_network", "expected a string, found a date"),
    ("[network]\nfirewall_driver = true", "network.firewall_driver", "expected a string, found a boolean"),
    ("[NETWORK]\nFirewall_Driver = []", "NETWORK.Firewall_Driver", "expected a string, found an array"),
    ("[network]\ndefault_subnet = \"nope\"", "network.default_subnet", "invalid CIDR address: nope"),
    ("[network]\ndefault_subnet = \"10.0.0.0/33\"", "network.default_subnet", "invalid prefix length: 10.0.0.0/33"),
    ("[network]\ndefault_subnet = [\"10.0.0.0/8\"]", "network.default_subnet", "expected a string, found an array"),
    ("[network]\ndns_bind_port = 70000", "network.dns_bind_port", "expected an integer 0…65535, found 70000"),
    ("[network]\ndns_bind_port = -1", "network.dns_bind_port", "expected an integer 0…65535, found -1"),
    ("[network]\ndns_bind_port = \"53\"", "network.dns_bind_port", "expected an integer, found a string"),
    ("[network]\ncni_plugin_dirs = \"/usr/lib/cni\"", "network.cni_plugin_dirs", "expected an array of strings"),
    ("[network]\ncni_plugin_dirs = [\"/a\", 5]", "network.cni_plugin_dirs[1]", "expected a string or {append"),
    (
      "[network]\ncni_plugin_dirs = [\"/a\", {prepend = true}]", "network.cni_plugin_dirs[1].prepend",
      "unsupported attribute; only append is known"
    ),
    (
      "[network]\ncni_plugin_dirs = [{append = \"yes\"}]", "network.cni_plugin_dirs[0].append",
      "expected a boolean, found a string"
    ),
    (
      "[engine]\nhelper_binaries_dir = [[\"/a\"]]", "engine.helper_binaries_dir[0]",
      "expected a string or {append = true|false}, found an array"
    ),
    (
      "[network]\ndefault_subnet_pools = {base = \"10.0.0.0/8\", size = 24}", "network.default_subnet_pools",
      "expected an array of tables, found a table"
    ),
    (
      "[network]\ndefault_subnet_pools = [\"10.0.0.0/8\"]", "network.default_subnet_pools[0]",
      "expected a table, found a string"
    ),
    (
      "[network]\ndefault_subnet_pools = [{base = \"nope\", size = 24}]", "network.default_subnet_pools[0].base",
      "invalid CIDR address: nope"
    ),
    (
      "[network]\ndefault_subnet_pools = [{base = \"10.89.0.0/16\", size = 24}, {base = \"10.90.0.0/16\", size = 8}]",
      "network.default_subnet_pools[1].size", "expected an integer 16…32 for base 10.90.0.0/16, found 8"
    ),
    (
      "[network]\ndefault_subnet_pools = [{base = \"10.89.0.0/16\", size = 33}]",
      "network.default_subnet_pools[0].size", "expected an integer 16…32 for base 10.89.0.0/16, found 33"
    ),
    (
      "[network]\ndefault_subnet_pools = [{base = \"fd00::/8\", size = 64}]", "network.default_subnet_pools[0].base",
      "expected an IPv4 network, found fd00::/8"
    ),
    ("[network]\ndefault_subnet_pools = [{size = 24}]", "network.default_subnet_pools[0].base", "missing"),
    (
      "[network]\ndefault_subnet_pools = [{base = \"10.89.0.0/16\"}]", "network.default_subnet_pools[0].size", "missing"
    ),
    (
      "[network]\ndefault_subnet_pools = [{base = \"10.89.0.0/16\", size = \"24\"}]",
      "network.default_subnet_pools[0].size", "expected an integer, found a string"
    ),
    ("[network]\ndefault_subnet_pools = [{base = \"\", size = 24}]", "network.default_subnet_pools[0].base", "empty"),
  ])
  func wrongTypesNameTheKeyAndFile(toml: String, key: String, message: String) throws {
    let tree = try Tree()
    defer { tree.directory.remove() }
    let path = try tree.write(Tree.system, toml)
    let error = #expect(throws: ContainersConfError.self) { try tree.load() }
    #expect(error?.file == path)
    #expect(error?.key == key)
    #expect(error?.line == nil)
    #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
    #expect(error?.description.hasPrefix("containers.conf \(path): \(key): \(message)") == true)
  }

  @Test func descriptionIsOneLineWhateverItCarries() {
    let error = ContainersConfError(
      file: "/tmp/a\nb.conf", line: 1, column: 2, key: "k\u{2028}", message: "saw '\n'\t\u{7}")
    #expect(error.description == "containers.conf /tmp/a\\nb.conf: line 1, column 2: k\\u{2028}: saw '\\n'\\t\\u{7}")
    #expect(
      ContainersConfError(file: "/x.conf", key: "network.dns_bind_port", message: "m").description
        == "containers.conf /x.conf: network.dns_bind_port: m")
  }
}

/// Comment lines are emptied before toml++ reads a file (it reads comments a character at a time); nothing else
/// changes, and every line keeps its number.
@Suite struct CommentStrippingTests {
  @Test(arguments: [
    ("# a\nkey = 1\n  # b\n", "\nkey = 1\n\n"),
    ("s = \"\"\"\n# kept: inside a string\n\"\"\"\n# gone\n", "s = \"\"\"\n# kept: inside a string\n\"\"\"\n\n"),
    ("t = '''\n# kept\n'''\n", "t = '''\n# kept\n'''\n"),
    ("# a comment with \"\"\" is kept\nx = 1", "# a comment with \"\"\" is kept\nx = 1"),
    ("k = \"#not a comment\"\n", "k = \"#not a comment\"\n"),
    ("", ""),
  ])
  func commentLinesAreEmptied(input: String, expected: String) {
    #expect(FileDecoder.withoutCommentLines(input) == expected)
  }

  @Test func theStockPodmanFileReadsTheSameWithoutItsComments() throws {
    let path = "/usr/share/containers/containers.conf"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
    let stripped = FileDecoder.withoutCommentLines(text)
    #expect(
      stripped.split(separator: "\n", omittingEmptySubsequences: false).count
        == text.split(separator: "\n", omittingEmptySubsequences: false).count)
    var withComments = ContainersConf()
    var without = ContainersConf()
    try withComments.merge(text: text, file: path)
    try without.merge(text: stripped, file: path)
    #expect(withComments == without)
  }
}
