import ContainerNetworkCore
import Testing

@Suite struct NameValidationTests {
  @Test(arguments: ["podman", "a", "web-1", "my_net.v2", "0abc", "A-B"])
  func validNetworkNames(name: String) throws {
    try NameValidation.validateNetworkName(name)
  }

  @Test(arguments: [
    "", "-lead", ".hidden", "_x", "a/b", "../etc", "has space", "tab\t", "nul\u{0}byte", "ümlaut", "a:b",
    String(repeating: "a", count: 10_000),
  ])
  func invalidNetworkNames(name: String) {
    let error = #expect(throws: NetworkError.self) { try NameValidation.validateNetworkName(name) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains("invalid") == true)
    #expect((error?.message.count ?? 0) < 200)
  }

  @Test(arguments: ["eth0", "a", "net1.5", "x-y_z", String(repeating: "i", count: 15)])
  func validInterfaceNames(name: String) throws {
    try NameValidation.validateInterfaceName(name)
  }

  @Test(arguments: ["", ".", "..", "a/b", "a:b", "with space", "tab\t", String(repeating: "i", count: 16), "ééééééééé"])
  func invalidInterfaceNames(name: String) {
    #expect(throws: NetworkError.self) { try NameValidation.validateInterfaceName(name) }
  }

  @Test(arguments: ["", "-x", "a b", "a/b", "a;b"])
  func invalidContainerIDs(id: String) {
    #expect(throws: NetworkError.self) { try NameValidation.validateContainerID(id) }
  }

  @Test func networkIDIsSHA256OfName() {
    #expect(NetworkID.of(name: "podman") == "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9")
    #expect(NetworkID.of(name: "pb-auto") == "0d896d80a02007064b34ad76d1fac8d20accfb9da3ebf28b0da9186e9dee5d9b")
    #expect(NetworkID.isFullID(NetworkID.of(name: "x")))
    #expect(!NetworkID.isFullID("2f259bab93aa"))
  }

  @Test func nameAllocatorPicksLowestFree() {
    #expect(NameAllocator.firstFree(prefix: "cni-podman", used: []) == "cni-podman1")
    #expect(NameAllocator.firstFree(prefix: "cni-podman", used: ["cni-podman1", "cni-podman3"]) == "cni-podman2")
    #expect(NameAllocator.firstFree(prefix: "cni-podman", used: ["cni-podman01", "cni-podman1x"]) == "cni-podman1")
    #expect(NameAllocator.firstFree(prefix: "eth", used: ["eth0", "eth1"], start: 0) == "eth2")
  }
}

@Suite struct NetworkLookupTests {
  let networks = ["alpha", "beta", "gamma"].map { Network(name: $0, id: NetworkID.of(name: $0), driver: "bridge") }

  @Test func findsByNameThenIDThenPrefix() throws {
    #expect(try NetworkLookup.find("beta", in: networks).name == "beta")
    #expect(try NetworkLookup.find(NetworkID.of(name: "gamma"), in: networks).name == "gamma")
    #expect(try NetworkLookup.find(String(NetworkID.of(name: "alpha").prefix(6)), in: networks).name == "alpha")
  }

  @Test func exactNameWinsOverIDPrefix() throws {
    let prefix = String(NetworkID.of(name: "alpha").prefix(4))
    let list = networks + [Network(name: prefix, id: NetworkID.of(name: prefix), driver: "bridge")]
    #expect(try NetworkLookup.find(prefix, in: list).name == prefix)
  }

  @Test func missIsPodmansWording() {
    let error = #expect(throws: NetworkError.self) { try NetworkLookup.find("nosuchnet", in: networks) }
    #expect(error?.message == "unable to find network with name or ID nosuchnet: network not found")
    #expect(error?.code == .notFound)
  }

  @Test func ambiguousPrefixIsAnError() {
    let list = [
      Network(name: "a", id: "abc111", driver: "bridge"), Network(name: "b", id: "abc222", driver: "bridge"),
    ]
    let error = #expect(throws: NetworkError.self) { try NetworkLookup.find("abc", in: list) }
    #expect(error?.code == .ambiguous)
  }
}
