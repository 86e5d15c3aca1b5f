import CNIRuntime
import FuzzSupport
import OrderedJSON

/// CNI result parsing and version conversion, as plugin output and the result cache go through them.
///
/// Invariant: a result converted to any version and written as JSON (what the cache stores) reads back equal.
func fuzzOne(_ bytes: [UInt8]) {
  let versions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
  // The first byte picks the version assumed for a result without cniVersion; the rest is the plugin's output.
  guard let first = bytes.first else { return }
  let defaultVersion = versions[Int(first) % versions.count]
  guard let result = try? CNIResult(data: bytes.dropFirst(), defaultVersion: defaultVersion) else { return }
  for version in versions {
    guard let converted = try? result.converted(to: version) else { continue }
    let json = converted.json
    let text = json.serialized()
    let reread: CNIResult
    do {
      reread = try CNIResult(data: text, defaultVersion: version)
    } catch {
      fatalError(
        "result converted to \(version) does not read back: \(error): \(String(decoding: text, as: UTF8.self))")
    }
    FuzzSupport.invariant(
      reread == converted,
      "result converted to \(version) reads back different: \(String(decoding: text, as: UTF8.self))")
  }
}

#if FUZZING
  @_cdecl("LLVMFuzzerTestOneInput")
  public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOne(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  }

  // SwiftPM aliases `main` to this symbol; it hands control to libFuzzer's driver.
  @_cdecl("fuzz_cni_result_main")
  public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzSupport.runLibFuzzer(argc, argv, testOneInput)
  }
#else
  @main
  enum Main {
    static func main() { FuzzSupport.main(name: "cni-result", fuzzOne) }
  }
#endif
