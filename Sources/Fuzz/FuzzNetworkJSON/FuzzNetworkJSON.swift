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
  public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    fuzzOne(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  }
#else
  @main
  enum Main {
    static func main() { FuzzSupport.main(name: "network-json", fuzzOne) }
  }
#endif
