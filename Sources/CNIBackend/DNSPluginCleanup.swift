import CNIRuntime
import ContainerNetworkCore
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// What the dnsname plugin leaves on the host after its network's last container: it opens the DNS port on the bridge
/// with `-A INPUT -i <bridge> -p udp -m udp --dport 53 -j ACCEPT` and never removes the rule (its DEL only stops
/// dnsmasq when no container is left), so every removed DNS network would leave one behind. `rm` removes it.
enum DNSPluginCleanup {
  /// The rule's arguments after `iptables -D`.
  static func rule(bridge: String) -> [String] {
    ["INPUT", "-i", bridge, "-p", "udp", "-m", "udp", "--dport", "53", "-j", "ACCEPT"]
  }

  static let iptablesCandidates = ["/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"]

  /// Deletes every copy of the rule for `bridge` in the namespace at `hostNamespacePath` (ours when nil); returns how
  /// many. A host without iptables has no such rule.
  @discardableResult
  static func removeRules(bridge: String, hostNamespacePath: String?, timeout: Duration) async throws -> Int {
    guard let iptables = iptablesCandidates.first(where: { access($0, X_OK) == 0 }) else { return 0 }
    var removed = 0
    // A rule added twice (two DNS setups racing) needs two deletions; iptables exits 1 once none is left.
    while removed < 16 {
      let request = ProcessRequest(
        path: iptables, arguments: [iptables, "-w", "-D"] + rule(bridge: bridge),
        environment: PluginExecutor.currentEnvironment(), stdin: [], namespacePath: hostNamespacePath,
        timeout: timeout, maximumOutputBytes: 4096)
      let output = try await ProcessRunner.run(request)
      guard output.termination == .exited(0) else { break }
      removed += 1
    }
    return removed
  }
}
