import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Facts about where the tests run, used to decide whether a privileged test may skip.
public enum TestEnvironment {
  /// True when the CI variable is set: nothing may skip then.
  public static let isCI: Bool = {
    guard let value = ProcessInfo.processInfo.environment["CI"] else { return false }
    return !value.isEmpty && value != "0" && value.lowercased() != "false"
  }()

  public static let isRoot: Bool = geteuid() == 0

  /// Whether a test that needs root should run: always under CI (where it must then fail if it cannot),
  /// otherwise only as root. Tests pass this to `.enabled(if:)` together with a printed reason.
  public static let canRunPrivileged: Bool = isCI || isRoot

  /// The directories where Debian installs the CNI plugins.
  public static let pluginDirectories = ["/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin"]

  /// Whether a binary is installed (searched in PATH, or an absolute path).
  public static func hasExecutable(_ name: String) -> Bool {
    if name.hasPrefix("/") { return access(name, X_OK) == 0 }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
    return path.split(separator: ":").contains { access("\($0)/\(name)", X_OK) == 0 }
  }

  /// Whether a binary needed by a test may be used: present, or we are in CI (where absence must fail the test).
  public static func canUse(_ name: String) -> Bool { isCI || hasExecutable(name) }

  /// Whether the real Podman can run here with its netavark backend (``PodmanSandbox``), as root.
  public static let canRunPodmanWithNetavark: Bool =
    canRunPrivileged && canUse("podman") && canUse("/usr/lib/podman/netavark")

  /// Whether the real CNI plugins are installed (or we are in CI, where their absence must fail the test).
  public static let canRunRealPlugins: Bool =
    canRunPrivileged && (isCI || pluginDirectories.contains { access("\($0)/bridge", X_OK) == 0 })
}

/// Short unique names for links, namespaces and networks; interface names must stay within 15 bytes.
public enum UniqueName {
  /// `prefix` followed by 6 random hex digits, e.g. `tb3fa9c1`.
  public static func make(_ prefix: String) -> String {
    let suffix = String(UInt32.random(in: 0..<0x100_0000), radix: 16)
    return prefix + String(repeating: "0", count: 6 - suffix.count) + suffix
  }
}
