import Foundation
import TestSupport
import Testing

/// The short CI versions of scripts/crash-test and scripts/leak-test, run against the binaries of this build.
@Suite(.enabled(if: TestEnvironment.canRunRealPlugins, "needs root and the CNI plugins in /usr/lib/cni"))
struct ScriptTests {
  /// 20 SIGKILLs during create, rm, setup and teardown; the script checks the directory after every kill, then
  /// that a teardown without cache removes everything and that no temp file or lock is left.
  @Test func crashSafetyWithTwentyKills() throws {
    let binary = try BuiltProduct.require("cnet")
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNET_") }
    environment["CNET_BIN"] = binary
    let result = try runCommand([PackageScript.path("crash-test"), "20"], environment: environment, check: false)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("failures=0"), "\(result.stdout)")
  }

  /// 100 setup/teardown cycles in one process: no growth in links, namespaces, rules, files, descriptors or memory.
  @Test func noLeaksOverAHundredCycles() throws {
    let binary = try BuiltProduct.require("cnet-soak")
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNET_") }
    environment["CNET_SOAK_BIN"] = binary
    let result = try runCommand([PackageScript.path("leak-test"), "100"], environment: environment, check: false)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  }
}
