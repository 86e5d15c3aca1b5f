import SystemSupport

/// Asks a helper program (netavark, aardvark-dns) for its version, the way `podman info` reports helpers.
public enum ProgramVersion {
  /// The first line `path --version` prints (on stdout, else stderr), or nil when it does not run, fails, or takes
  /// longer than `timeout`.
  public static func query(_ path: String, timeout: Duration = .seconds(5)) async -> String? {
    let request = ProcessRequest(
      path: path, arguments: [path, "--version"], environment: PluginExecutor.currentEnvironment(), stdin: [],
      namespacePath: nil, timeout: timeout, maximumOutputBytes: 4096)
    guard let output = try? await ProcessRunner.run(request), output.termination == .exited(0) else { return nil }
    let text = PluginExecutor.text(output.stdout.isEmpty ? output.stderr : output.stdout)
    let line = text.split(separator: "\n").first.map(String.init)
    return line?.isEmpty == false ? line : nil
  }
}
