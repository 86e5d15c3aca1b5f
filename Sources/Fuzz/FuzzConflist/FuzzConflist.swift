import CNIBackend
import CNIRuntime
import FuzzSupport
import OrderedJSON

/// Conflist parsing: the JSON parser, libcni's config list rules and Podman's conflist reader.
///
/// Invariants: whatever parses serializes to text that parses back to the same value, compact and indented.
func fuzzOne(_ bytes: [UInt8]) {
  guard let value = try? JSONValue.parse(bytes) else { return }
  let compact = value.serialized()
  FuzzSupport.invariant(
    (try? JSONValue.parse(compact)) == value,
    "serialized JSON does not parse back: \(String(decoding: compact, as: UTF8.self))")
  let indented = GoJSONFormat.indented(value, indent: "  ")
  FuzzSupport.invariant((try? JSONValue.parse(indented)) == value, "indented JSON does not parse back")
  if let list = try? NetworkConfigList(data: bytes) {
    _ = list.preferredVersion
    _ = list.plugins.map { ($0.capabilities, $0.ipamType) }
  }
  _ = try? CNINetworkBackend.network(fromConflist: bytes)
}

#if FUZZING
  @_cdecl("LLVMFuzzerTestOneInput")
  public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOne(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  }

  // SwiftPM aliases `main` to this symbol; it hands control to libFuzzer's driver.
  @_cdecl("fuzz_conflist_main")
  public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzSupport.runLibFuzzer(argc, argv, testOneInput)
  }
#else
  @main
  enum Main {
    static func main() { FuzzSupport.main(name: "conflist", fuzzOne) }
  }
#endif
