import FuzzSupport
import NetworkAddress

/// IPv4/IPv6 address, CIDR and MAC parsing.
///
/// Invariants: whatever parses prints as text that parses back to the same value, and a network contains its
/// own address.
func fuzzOne(_ bytes: [UInt8]) {
  let text = String(decoding: bytes, as: UTF8.self)
  if let address = IPAddress(text) {
    FuzzSupport.invariant(IPAddress(address.description) == address, "\(text) → \(address) does not read back")
  }
  if let address = IPv4Address(text) {
    FuzzSupport.invariant(IPv4Address(address.description) == address, "\(text) → \(address) does not read back")
  }
  if let address = IPv6Address(text) {
    FuzzSupport.invariant(IPv6Address(address.description) == address, "\(text) → \(address) does not read back")
  }
  if let network = IPNetwork(text) {
    FuzzSupport.invariant(IPNetwork(network.description) == network, "\(text) → \(network) does not read back")
  }
  if let mac = MACAddress(text) {
    FuzzSupport.invariant(MACAddress(mac.description) == mac, "\(text) → \(mac) does not read back")
  }
  _ = try? IPAddress.parse(text)
  _ = try? IPNetwork.parse(text)
  _ = try? MACAddress.parse(text)
}

#if FUZZING
  @_cdecl("LLVMFuzzerTestOneInput")
  public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOne(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  }

  // SwiftPM aliases `main` to this symbol; it hands control to libFuzzer's driver.
  @_cdecl("fuzz_addresses_main")
  public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzSupport.runLibFuzzer(argc, argv, testOneInput)
  }
#else
  @main
  enum Main {
    static func main() { FuzzSupport.main(name: "addresses", fuzzOne) }
  }
#endif
