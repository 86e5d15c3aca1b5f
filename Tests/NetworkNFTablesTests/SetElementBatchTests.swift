import Foundation
import NetworkAddress
import NetworkNFTables
import NetworkNetlink
import TestSupport
import Testing

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

@Suite struct SetElementBatchTests {
  /// A port forward as the native firewall will keep it: `ipv4_addr . inet_proto . inet_service : ipv4_addr .
  /// inet_service`, each field in a 4-byte register slot.
  static let forward = SetElement(
    key: [.address(IPAddress("192.0.2.2")!), .protocol(6), .port(8080)],
    data: [.address(IPAddress("10.88.0.2")!), .port(80)])

  @Test func fieldsArePaddedToRegistersInNetworkOrder() {
    #expect(hex(Self.forward.key) == "c0000202" + "06000000" + "1f900000")
    #expect(Self.forward.data.map(hex) == "0a580002" + "00500000")
  }

  @Test func anAddIsOneTransactionOfThreeMessages() {
    let batch = SetElementBatch(.add, table: "t", set: "pf4", elements: [Self.forward])
    #expect(
      hex(batch.encoded(sequence: 7))
        // NFNL_MSG_BATCH_BEGIN, sequence 7, nfgenmsg: AF_UNSPEC, version 0, resource NFNL_SUBSYS_NFTABLES.
        == "14000000" + "1000" + "0100" + "07000000" + "00000000" + "0000000a"
        // NEWSETELEM (10 << 8 | 12), REQUEST|ACK|EXCL|CREATE, sequence 8, nfgenmsg: NFPROTO_INET.
        + "50000000" + "0c0a" + "0506" + "08000000" + "00000000" + "01000000"
        + "0600" + "0100" + "74000000"  // NFTA_SET_ELEM_LIST_TABLE "t"
        + "0800" + "0200" + "70663400"  // NFTA_SET_ELEM_LIST_SET "pf4"
        + "2c00" + "0380"  // NFTA_SET_ELEM_LIST_ELEMENTS
        + "2800" + "0180"  // NFTA_LIST_ELEM
        + "1400" + "0180" + "1000" + "0100" + "c0000202060000001f900000"  // KEY { DATA_VALUE }
        + "1000" + "0280" + "0c00" + "0100" + "0a58000200500000"  // DATA { DATA_VALUE }
        // NFNL_MSG_BATCH_END, sequence 9.
        + "14000000" + "1100" + "0100" + "09000000" + "00000000" + "0000000a")
  }

  @Test(arguments: [(SetElementBatch.Operation.destroy, "1e0a", "0500"), (.delete, "0e0a", "0500")])
  func removalsAskOnlyForAnAcknowledgement(_ operation: SetElementBatch.Operation, type: String, flags: String) {
    let bytes = SetElementBatch(operation, table: "t", set: "pf4", elements: [Self.forward]).encoded(sequence: 1)
    // The element message follows the 20-byte BATCH_BEGIN.
    #expect(hex(Array(bytes[24..<28])) == type + flags)
  }

  static func map(_ table: String, in namespace: TestNamespace) throws -> String {
    try namespace.run(["nft", "list", "map", "inet", table, "pf4"]).stdout
  }

  /// In a namespace of its own, with a map made by `nft`: elements added in one batch are what `nft` lists, a
  /// duplicate add is refused with EEXIST and changes nothing, and a destroy of present and absent elements works.
  @Test(.enabled(if: TestEnvironment.canRunPrivileged && TestEnvironment.canUse("/usr/sbin/nft"), "needs root and nft"))
  func elementsReachTheKernelAndNftListsThem() throws {
    let namespace = try TestNamespace(prefix: "nft")
    defer { namespace.remove() }
    let table = UniqueName.make("cnt")
    try namespace.run(["nft", "add", "table", "inet", table])
    try namespace.run([
      "nft", "add", "map", "inet", table, "pf4",
      "{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service ; }",
    ])
    let second = SetElement(
      key: [.address(IPAddress("192.0.2.2")!), .protocol(17), .port(5353)],
      data: [.address(IPAddress("10.88.0.3")!), .port(53)])
    let netlink = try NFTablesNetlink(namespacePath: namespace.path)
    try netlink.apply(SetElementBatch(.add, table: table, set: "pf4", elements: [Self.forward, second]))
    var map = try Self.map(table, in: namespace)
    #expect(map.contains("192.0.2.2 . tcp . 8080 : 10.88.0.2 . 80"), "\(map)")
    #expect(map.contains("192.0.2.2 . udp . 5353 : 10.88.0.3 . 53"), "\(map)")

    let duplicate = #expect(throws: NetlinkError.self) {
      try netlink.apply(SetElementBatch(.add, table: table, set: "pf4", elements: [Self.forward]))
    }
    #expect(duplicate?.errno == EEXIST)
    #expect(try Self.map(table, in: namespace) == map)

    let absent = SetElement(
      key: [.address(IPAddress("192.0.2.9")!), .protocol(6), .port(1)],
      data: [.address(IPAddress("10.88.0.9")!), .port(1)])
    try netlink.apply(SetElementBatch(.destroy, table: table, set: "pf4", elements: [Self.forward, absent]))
    map = try Self.map(table, in: namespace)
    #expect(!map.contains("8080") && map.contains("5353"), "\(map)")
    let missing = #expect(throws: NetlinkError.self) {
      try netlink.apply(SetElementBatch(.delete, table: table, set: "pf4", elements: [absent]))
    }
    #expect(missing?.errno == ENOENT)
  }
}

@Suite struct NFTablesNetlinkTests {
  @Test func batchesOfSeveralSetsGoInOneDatagramAndTheFailedOneIsNamed() throws {
    let socket = AnsweringNetlinkSocket(errnos: [0, EEXIST])
    let netlink = NFTablesNetlink(socket: socket)
    let batches = [
      SetElementBatch(.add, table: "t", set: "pf4_any", elements: [SetElementBatchTests.forward]),
      SetElementBatch(.add, table: "t", set: "pf4_ip", elements: [SetElementBatchTests.forward]),
    ]
    #expect {
      try netlink.apply(batches)
    } throws: { error in
      (error as? NetlinkError)?.errno == EEXIST && "\(error)".contains("pf4_ip")
    }
    #expect(socket.sent.count == 1)
    // BATCH_BEGIN, two element messages, BATCH_END.
    #expect(NetlinkReply.split(socket.sent[0][...]).map(\.type) == [0x10, 0x0a0c, 0x0a0c, 0x11])
    // The next transaction's numbers follow, and stale answers are not mistaken for its own.
    try netlink.apply(batches)
    #expect(NetlinkReply.split(socket.sent[1][...]).map(\.sequence) == [5, 6, 7, 8])
  }

  /// A kernel without DESTROYSETELEM (before 6.3) refuses the message type; each element is then deleted on its own
  /// (DELSETELEM, type 14), and one that is gone is no error.
  @Test func removalFallsBackToOneDeletionPerElementOnOldKernels() throws {
    let socket = AnsweringNetlinkSocket(errnos: [EINVAL, ENOENT, 0])
    let other = SetElement(
      key: [.address(IPAddress("192.0.2.3")!), .protocol(17), .port(53)],
      data: [.address(IPAddress("10.88.0.3")!), .port(53)])
    try NFTablesNetlink(socket: socket).removeElements([
      SetElementBatch(.add, table: "t", set: "pf4_ip", elements: [SetElementBatchTests.forward, other])
    ])
    #expect(socket.sent.count == 3)
    #expect(NetlinkReply.split(socket.sent[0][...]).map(\.type) == [0x10, 0x0a1e, 0x11])
    for datagram in socket.sent.dropFirst() {
      #expect(NetlinkReply.split(datagram[...]).map(\.type) == [0x10, 0x0a0e, 0x11])
    }
    // Another error is the caller's.
    let refused = AnsweringNetlinkSocket(errnos: [EPERM])
    #expect(throws: NetlinkError.self) {
      try NFTablesNetlink(socket: refused).removeElements([
        SetElementBatch(.destroy, table: "t", set: "pf4_ip", elements: [SetElementBatchTests.forward])
      ])
    }
  }

  @Test func aMissingChainIsFalseAndAnAnsweredOneTrue() throws {
    let missing = AnsweringNetlinkSocket(errnos: [ENOENT])
    #expect(try NFTablesNetlink(socket: missing).chainExists(table: "cnet", chain: "fwd-podman1") == false)
    let present = AnsweringNetlinkSocket()
    // A NEWCHAIN answer (type 10 << 8 | 3) before the acknowledgement.
    present.answers = [[20, 0, 0, 0, 0x03, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]]
    #expect(try NFTablesNetlink(socket: present).chainExists(table: "cnet", chain: "fwd-podman1"))
    let refused = AnsweringNetlinkSocket(errnos: [EPERM])
    #expect(throws: NetlinkError.self) { try NFTablesNetlink(socket: refused).chainExists(table: "t", chain: "c") }
  }
}
