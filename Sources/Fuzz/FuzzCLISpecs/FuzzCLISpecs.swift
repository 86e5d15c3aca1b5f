import CNetCommands
import ContainerNetworkCore
import FuzzSupport

/// The `--network` and `--publish` syntax of the CLI, one value per input line.
///
/// Invariants: a parsed publish spec names a range inside 1…65535 on both sides and a known protocol.
func fuzzOne(_ bytes: [UInt8]) {
  let text = String(decoding: bytes, as: UTF8.self)
  for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(16) {
    let value = String(line)
    _ = try? NetworkSpec.parse(value)
    if let mapping = try? PublishSpec.parse(value) {
      let count = Int(mapping.portCount)
      FuzzSupport.invariant(count >= 1, "empty port range from \(value)")
      FuzzSupport.invariant(Int(mapping.hostPort) + count - 1 <= 65_535, "host range beyond 65535 from \(value)")
      FuzzSupport.invariant(
        Int(mapping.containerPort) + count - 1 <= 65_535, "container range beyond 65535 from \(value)")
      FuzzSupport.invariant(mapping.hostPort > 0 && mapping.containerPort > 0, "port 0 from \(value)")
      FuzzSupport.invariant(
        mapping.protocols.allSatisfy(SetupValidation.supportedProtocols.contains), "unknown protocol from \(value)")
    }
  }
}

#if FUZZING
  @_cdecl("LLVMFuzzerTestOneInput")
  public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOne(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  }

  // SwiftPM aliases `main` to this symbol; it hands control to libFuzzer's driver.
  @_cdecl("fuzz_cli_specs_main")
  public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzSupport.runLibFuzzer(argc, argv, testOneInput)
  }
#else
  @main
  enum Main {
    static func main() { FuzzSupport.main(name: "cli-specs", fuzzOne) }
  }
#endif
