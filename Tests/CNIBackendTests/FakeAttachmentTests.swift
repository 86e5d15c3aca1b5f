import CNIBackend
import CNIRuntime
import ContainerNetworkCore
import Foundation
import NetworkAddress
import OrderedJSON
import TestSupport
import Testing

/// Setup and teardown logic through the seams, with a fake plugin executor and fake namespaces: no root, no plugins.
/// The real chains run in `SetupTeardownTests`.
@Suite struct FakeAttachmentTests {
  /// A sandbox, a fake-backed backend, and two networks on it.
  struct Rig {
    let sandbox: BackendSandbox
    let executor: FakeExecutor
    let backend: CNINetworkBackend
    let first: Network
    let second: Network

    init(namespaces: FakeNamespaces = FakeNamespaces()) async throws {
      sandbox = try BackendSandbox()
      executor = FakeExecutor()
      backend = sandbox.fakeBackend(executor, namespaces: namespaces)
      first = try await backend.create(Network(name: "first", dnsEnabled: false))
      second = try await backend.create(Network(name: "second", dnsEnabled: false))
    }

    /// Options for both networks, eth0 on `first` and eth1 on `second`.
    func options(_ id: String = "c1") -> NetworkOptions {
      NetworkOptions(
        containerID: id, containerName: id,
        networks: [
          first.name: PerNetworkOptions(interfaceName: "eth0"), second.name: PerNetworkOptions(interfaceName: "eth1"),
        ])
    }

    func cacheEntries() -> [String] {
      ((try? FileManager.default.contentsOfDirectory(atPath: sandbox.root.appending("cache/results"))) ?? []).sorted()
    }
  }

  static let chain = ["bridge", "portmap", "firewall", "tuning"]

  @Test func setupRunsEachChainInOrderAndCachesEachAttachment() async throws {
    let rig = try await Rig()
    defer { rig.sandbox.remove() }
    let status = try await rig.backend.setup(namespacePath: "/fake/ns", options: rig.options())
    #expect(status[rig.first.name]?.interfaces["eth0"]?.subnets.count == 1)
    #expect(rig.executor.calls.map(\.plugin) == Self.chain + Self.chain)
    #expect(
      rig.executor.calls.map(\.network) == Array(repeating: "first", count: 4) + Array(repeating: "second", count: 4))
    #expect(rig.executor.calls.map(\.hadPrevResult) == [false, true, true, true, false, true, true, true])
    #expect(rig.cacheEntries() == ["first-c1-eth0", "second-c1-eth1"])
  }

  @Test func aFailureOnTheSecondNetworkRollsBackBothInReverse() async throws {
    let rig = try await Rig()
    defer { rig.sandbox.remove() }
    rig.executor.fail(.init(plugin: "firewall", command: .add, network: "second", code: 111))
    let error = await #expect(throws: NetworkError.self) {
      try await rig.backend.setup(namespacePath: "/fake/ns", options: rig.options())
    }
    #expect(error?.code == .pluginFailed)
    #expect(error?.message == "setting up network second: cni plugin firewall failed: fake failure 111")
    // An engine reads the plugin's own code from the cause.
    #expect((error?.cause as? CNIError)?.code == CNIError.Code(rawValue: 111))
    #expect((error?.cause as? CNIError)?.plugin == "firewall")
    let deletes = rig.executor.calls.filter { $0.command == .del }
    #expect(deletes.map(\.network) == Array(repeating: "second", count: 4) + Array(repeating: "first", count: 4))
    #expect(deletes.map(\.plugin) == Self.chain.reversed() + Self.chain.reversed())
    // The failing network's DELs carry the result up to the last plugin that succeeded (portmap's).
    #expect(deletes.allSatisfy { $0.hadPrevResult })
    #expect(rig.cacheEntries() == [])
  }

  @Test func aFailedRollbackIsReportedWithEveryCause() async throws {
    let rig = try await Rig()
    defer { rig.sandbox.remove() }
    rig.executor.fail(.init(plugin: "tuning", command: .add, network: "second", code: 111))
    rig.executor.fail(.init(plugin: "tuning", command: .del, network: "first", code: 112))
    let error = await #expect(throws: NetworkError.self) {
      try await rig.backend.setup(namespacePath: "/fake/ns", options: rig.options())
    }
    #expect(
      error?.message
        == "setting up network second: cni plugin tuning failed: fake failure 111; rolling back network first failed: cni plugin tuning failed: fake failure 112"
    )
    #expect(error?.causes.compactMap { ($0 as? CNIError)?.code?.rawValue } == [111, 112])
    // first's other DELs still ran after tuning's failed, and its entry stays for a later teardown.
    #expect(rig.executor.calls.filter { $0.command == .del && $0.network == "first" }.count == 4)
    #expect(rig.cacheEntries() == ["first-c1-eth0"])
  }

  @Test func anExistingInterfaceIsRefusedBeforeAnyPluginRuns() async throws {
    let rig = try await Rig(namespaces: FakeNamespaces(existing: ["eth1"]))
    defer { rig.sandbox.remove() }
    let error = await #expect(throws: NetworkError.self) {
      try await rig.backend.setup(namespacePath: "/fake/ns", options: rig.options())
    }
    #expect(error?.code == .alreadyExists)
    #expect(error?.message.hasPrefix("interface eth1 already exists in network namespace /fake/ns") == true)
    #expect(rig.executor.calls == [])
    #expect(rig.cacheEntries() == [])
  }

  @Test func aRepeatedSetupIsRefusedBeforeAnyPluginRuns() async throws {
    let rig = try await Rig()
    defer { rig.sandbox.remove() }
    _ = try await rig.backend.setup(namespacePath: "/fake/ns", options: rig.options())
    let before = rig.executor.calls.count
    let error = await #expect(throws: NetworkError.self) {
      try await rig.backend.setup(namespacePath: "/fake/ns", options: rig.options())
    }
    #expect(error?.message == "container c1 is already attached to network first (interface eth0): tear it down first")
    #expect(rig.executor.calls.count == before)
    #expect(rig.cacheEntries() == ["first-c1-eth0", "second-c1-eth1"])
  }

  @Test func teardownFallsBackToTheConfigOnDiskWithoutTheCache() async throws {
    let rig = try await Rig()
    defer { rig.sandbox.remove() }
    let options = rig.options()
    _ = try await rig.backend.setup(namespacePath: "/fake/ns", options: options)
    try FileManager.default.removeItem(atPath: rig.sandbox.root.appending("cache/results"))
    try await rig.backend.teardown(namespacePath: "/fake/ns", options: options)
    let deletes = rig.executor.calls.filter { $0.command == .del }
    // Networks in reverse order, each chain in reverse, without prevResult (nothing cached), and a warning each.
    #expect(deletes.map(\.network) == Array(repeating: "second", count: 4) + Array(repeating: "first", count: 4))
    #expect(deletes.allSatisfy { !$0.hadPrevResult && $0.containerID == "c1" })
    #expect(rig.sandbox.logs.messages.filter { $0.contains("no cached result for container c1") }.count == 2)
  }

  @Test func aDELFailureIsCollectedWithTheOthersAndEveryDELRuns() async throws {
    let rig = try await Rig()
    defer { rig.sandbox.remove() }
    let options = rig.options()
    _ = try await rig.backend.setup(namespacePath: "/fake/ns", options: options)
    rig.executor.fail(.init(plugin: "portmap", command: .del, network: "second", code: 120))
    rig.executor.fail(.init(plugin: "bridge", command: .del, network: "first", code: 121))
    let error = await #expect(throws: NetworkError.self) {
      try await rig.backend.teardown(namespacePath: "/fake/ns", options: options)
    }
    #expect(
      error?.message
        == "tearing down container c1: network second: cni plugin portmap failed: fake failure 120; network first: cni plugin bridge failed: fake failure 121"
    )
    #expect(error?.causes.compactMap { ($0 as? CNIError)?.code?.rawValue } == [120, 121])
    #expect(rig.executor.calls.filter { $0.command == .del }.count == 8)
    #expect(rig.cacheEntries() == ["first-c1-eth0", "second-c1-eth1"], "kept for the retry")
  }

  /// CHECK runs the chain in order against the cached result; GC deletes what is not valid and then sends GC with
  /// the valid attachments (1.1.0 lists).
  @Test func checkAndGCThroughTheRuntime() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let executor = FakeExecutor()
    let runtime = CNIConfig(executor: executor, cacheDirectory: sandbox.root.appending("cache"))
    let list = try NetworkConfigList(
      json: #"{"cniVersion":"1.1.0","name":"gcnet","plugins":[{"type":"bridge"},{"type":"firewall"}]}"#)
    func conf(_ id: String) -> RuntimeConf {
      RuntimeConf(containerID: id, netns: "/fake/\(id)", ifName: "eth0")
    }
    try await runtime.addNetworkList(list, conf("keep"))
    try await runtime.addNetworkList(list, conf("gone"))
    try await runtime.checkNetworkList(list, conf("keep"))
    let checks = executor.calls.filter { $0.command == .check }
    #expect(checks.map(\.plugin) == ["bridge", "firewall"] && checks.allSatisfy { $0.hadPrevResult })

    try await runtime.gcNetworkList(list, validAttachments: [GCAttachment(containerID: "keep", ifName: "eth0")])
    let deletes = executor.calls.filter { $0.command == .del }
    #expect(deletes.map(\.containerID) == ["gone", "gone"])
    let collections = executor.calls.filter { $0.command == .gc }
    #expect(collections.map(\.plugin) == ["bridge", "firewall"])
    #expect(
      collections.first?.validAttachments
        == .array([.object(["containerID": .string("keep"), "ifname": .string("eth0")])]))
    #expect(runtime.cachedAttachments(containerID: nil).map(\.containerID) == ["keep"])
  }
}
