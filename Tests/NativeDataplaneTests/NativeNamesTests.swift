import Testing

@testable import NativeDataplane

/// The tags on the links the native dataplane makes, which garbage collection and the forwarding fix-up read back.
struct NativeNamesTests {
  @Test(arguments: [
    (false, "cnet-bridge:0123456789ab"),
    (true, "cnet-bridge:0123456789ab:internal"),
  ])
  func aBridgeTagCarriesTheNetworkIDAndWhetherItIsInternal(isInternal: Bool, tag: String) {
    let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    #expect(NativeNames.bridgeAlias(networkID: id, internal: isInternal) == tag)
    #expect(NativeNames.networkID(inBridgeAlias: tag) == "0123456789ab")
    #expect(tag.hasPrefix(NativeNames.bridgeAliasPrefix))
    #expect(tag.hasSuffix(NativeNames.internalBridgeSuffix) == isInternal)
  }
}
