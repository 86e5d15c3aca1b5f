import CFuzzDriver
import Foundation

/// What every fuzz target shares: the seed corpus runner used when the target is built without `-DFUZZING`.
///
/// Built normally, a fuzz executable runs its body once over each file of its seed corpus (or over the files and
/// directories given as arguments) and prints how many inputs it ran, so `swift build` keeps every harness compiling
/// and a crash input can be replayed without libFuzzer.
public enum FuzzSupport {
  /// `Fuzz/corpus/<name>` in the package, found from this source file's location.
  public static func corpusDirectory(_ name: String, filePath: String = #filePath) -> String {
    var url = URL(fileURLWithPath: filePath)
    // …/Sources/Fuzz/FuzzSupport/FuzzSupport.swift → the package root is four levels up.
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("Fuzz/corpus/\(name)").path
  }

  /// Runs `body` over every file in `paths` (directories are read one level deep); returns the number of inputs.
  @discardableResult
  public static func run(paths: [String], _ body: ([UInt8]) -> Void) -> Int {
    var count = 0
    for path in paths {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        FileHandle.standardError.write(Data("fuzz: no such file or directory: \(path)\n".utf8))
        continue
      }
      let files =
        isDirectory.boolValue
        ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { "\(path)/\($0)" }
        : [path]
      for file in files {
        guard let data = FileManager.default.contents(atPath: file) else { continue }
        body(Array(data))
        count += 1
      }
    }
    return count
  }

  /// The entry point of a harness built without libFuzzer: replays the arguments, else the seed corpus.
  public static func main(name: String, _ body: ([UInt8]) -> Void) {
    let arguments = Array(CommandLine.arguments.dropFirst())
    let paths = arguments.isEmpty ? [corpusDirectory(name)] : arguments
    let count = run(paths: paths, body)
    print("\(name): ran \(count) inputs without a crash")
  }

  /// Stops the fuzzer with a message: a broken invariant is a finding, like a crash.
  public static func invariant(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(message())") }
  }

  #if FUZZING
    /// Runs libFuzzer with the process arguments and `callback` as the target.
    public static func runLibFuzzer(
      _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
      _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32 {
      var count = argc
      var arguments = argv
      return LLVMFuzzerRunDriver(&count, &arguments, callback)
    }
  #endif
}
