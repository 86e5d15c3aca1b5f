import ContainerNetworkCore
import Foundation
import FuzzSupport

/// Podman's network JSON (`podman network inspect`, netavark's network files) and the setup types beside it.
///
/// Invariant: a decoded network encodes to JSON that decodes back equal.
func fuzzOne(_ bytes: [UInt8]) {
  let data = Data(bytes)
  let decoder = JSONDecoder()
  if let network = try? decoder.decode(Network.self, from: data) {
    let encoded: Data
    do {
      encoded = try JSONEncoder().encode(network)
    } catch {
      fatalError("decoded network does not encode: \(error)")
    }
    let again = try? decoder.decode(Network.self, from: encoded)
    FuzzSupport.invariant(again == network, "network reads back different: \(String(decoding: encoded, as: UTF8.self))")
  }
  _ = try? decoder.decode([Network].self, from: data)
  _ = try? decoder.decode(NetworkOptions.self, from: data)
  _ = try? decoder.decode([String: StatusBlock].self, from: data)
}

#if FUZZING
  @_cdecl("LLVMFuzzerTestOneInput")
  public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOne(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  }

  // SwiftPM aliases `main` to this symbol; it hands control to libFuzzer's driver.
  @_cdecl("fuzz_network_json_main")
  public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzSupport.runLibFuzzer(argc, argv, testOneInput)
  }
#else
  @main
  enum Main {
    static func main() { FuzzSupport.main(name: "network-json", fuzzOne) }
  }
#endif
