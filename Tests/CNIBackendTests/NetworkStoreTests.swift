import CNIBackend
import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

@Suite struct NetworkStoreLoadingTests {
  @Test func listsValidFilesAndSkipsBrokenOnesWithOneWarningEach() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    try BackendFixtures.copy(["valid", "invalid"], to: sandbox.configDirectory)
    let backend = sandbox.backend()
    let names = try await backend.list(filters: NetworkFilters()).map(\.name)
    #expect(names == ["dual", "foreign", "isolated", "lan", "noipam", "podman", "web"])
    let warnings = sandbox.logs.warnings
    #expect(warnings.count == 10, "\(warnings)")
    for file in try FileManager.default.contentsOfDirectory(
      atPath: BackendFixtures.directory.appendingPathComponent("invalid").path)
    {
      #expect(warnings.contains { $0.contains(file) }, "no warning names \(file)")
    }
    #expect(warnings.contains { $0.contains("99-duplicate.conflist") && $0.contains("already defined") })
    #expect(warnings.contains { $0.contains("02-noname") && $0.contains("missing network name") })
    #expect(warnings.contains { $0.contains("03-noplugins") && $0.contains("no plugins") })
    #expect(warnings.contains { $0.contains("05-notype") && $0.contains("no type") })
    // Unchanged files are not read (or warned about) again.
    _ = try await backend.list(filters: NetworkFilters())
    #expect(sandbox.logs.warnings.count == 10)
  }

  @Test func readsWhatFilesSay() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    try BackendFixtures.copy(["valid"], to: sandbox.configDirectory)
    let backend = sandbox.backend()
    let web = try await backend.inspect("web")
    #expect(web.driver == "bridge")
    #expect(web.networkInterface == "cni-podman3")
    #expect(web.labels == ["app": "web"])
    #expect(web.options == ["mtu": "1450"])
    #expect(web.dnsEnabled)
    #expect(
      web.subnets == [
        Subnet(
          subnet: IPNetwork("10.89.3.0/24")!, gateway: IPAddress("10.89.3.1"),
          leaseRange: LeaseRange(startIP: IPAddress("10.89.3.10"), endIP: IPAddress("10.89.3.20")))
      ])
    #expect(web.created != nil)
    let lan = try await backend.inspect("lan")
    #expect(lan.driver == "macvlan" && lan.networkInterface == "eth9" && lan.options == ["mode": "bridge"])
    let dual = try await backend.inspect("dual")
    #expect(dual.ipv6Enabled && dual.subnets.count == 2 && !dual.dnsEnabled)
    let isolated = try await backend.inspect("isolated")
    #expect(isolated.internal && isolated.subnets.first?.gateway == nil)
    let foreign = try await backend.inspect("foreign")
    #expect(foreign.driver == "ptp" && foreign.subnets.isEmpty)
    #expect(try await backend.inspect("noipam").ipamOptions == ["driver": "none"])
  }

  @Test func defaultNetworkExistsInMemoryOnly() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let podman = try await backend.inspect("podman")
    #expect(podman.id == "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9")
    #expect(podman.networkInterface == "cni-podman0")
    #expect(podman.subnets == [Subnet(subnet: IPNetwork("10.88.0.0/16")!, gateway: IPAddress("10.88.0.1"))])
    #expect(podman.ipamOptions == ["driver": "host-local"])
    #expect(try sandbox.fileNames().isEmpty)
    let error = await #expect(throws: NetworkError.self) { try await backend.remove("podman", force: true) }
    #expect(error?.message == "default network podman cannot be removed")
  }

  @Test func aFileNamedPodmanReplacesTheDefault() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let text =
      #"{"cniVersion":"0.4.0","name":"podman","plugins":[{"type":"bridge","bridge":"custom0","isGateway":true}]}"#
    try text.write(toFile: "\(sandbox.configDirectory)/87-podman.conflist", atomically: true, encoding: .utf8)
    let podman = try await sandbox.backend().inspect("podman")
    #expect(podman.networkInterface == "custom0")
  }

  @Test func missingDirectoryIsEmptyNotAnError() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    var configuration = sandbox.configuration()
    configuration.configDirectory = sandbox.root.appending("does/not/exist")
    let names = try await CNINetworkBackend(configuration: configuration).list(filters: NetworkFilters()).map(\.name)
    #expect(names == ["podman"])
  }

  @Test func seesNetworksWrittenByAnotherProcess() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    #expect(try await backend.list(filters: NetworkFilters()).count == 1)
    try BackendFixtures.copy(["valid"], to: sandbox.configDirectory)
    #expect(try await backend.list(filters: NetworkFilters()).count == 7)
    try FileManager.default.removeItem(atPath: "\(sandbox.configDirectory)/10-web.conflist")
    #expect(try await backend.list(filters: NetworkFilters()).map(\.name).contains("web") == false)
  }

  @Test func symlinkedConfigIsNotFollowed() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let outside = sandbox.root.appending("outside.conflist")
    try #"{"cniVersion":"0.4.0","name":"outside","plugins":[{"type":"bridge"}]}"#.write(
      toFile: outside, atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(
      atPath: "\(sandbox.configDirectory)/link.conflist", withDestinationPath: outside)
    let names = try await sandbox.backend().list(filters: NetworkFilters()).map(\.name)
    #expect(names == ["podman"])
    #expect(sandbox.logs.messages.contains { $0.contains("link.conflist") && $0.contains("symbolic link") })
  }

  @Test func filtersAndLookup() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    try BackendFixtures.copy(["valid"], to: sandbox.configDirectory)
    let backend = sandbox.backend()
    #expect(try await backend.list(filters: NetworkFilters(parsing: ["driver=macvlan"])).map(\.name) == ["lan"])
    #expect(try await backend.list(filters: NetworkFilters(parsing: ["label=app=web"])).map(\.name) == ["web"])
    #expect(
      try await backend.list(filters: NetworkFilters(parsing: ["name=^d", "name=web"])).map(\.name) == ["dual", "web"])
    let id = NetworkID.of(name: "lan")
    #expect(try await backend.inspect(id).name == "lan")
    #expect(try await backend.inspect(String(id.prefix(10))).name == "lan")
    let error = await #expect(throws: NetworkError.self) { try await backend.inspect("nosuchnet") }
    #expect(error?.message == "unable to find network with name or ID nosuchnet: network not found")
  }
}
