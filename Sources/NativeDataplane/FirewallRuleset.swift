import ContainerNetworkCore
import NetworkAddress

/// The native firewall's nftables objects, as nft scripts. One table of our own, `inet cnet`; nothing outside it is
/// read or changed, so the iptables rules of the CNI plugins, netavark and Docker stay as they are.
///
/// The layout keeps per-container work to map elements: base chains dispatch through verdict maps keyed by bridge
/// name into each network's chains, and published ports are elements of four DNAT maps. A container without ports
/// changes nothing here; a network's objects are written once, on its bridge's first use. Every script is idempotent
/// (`add` of what exists is no error, chains are flushed before their rules are written), so that two processes that
/// race, a reload, or a retry all leave the same ruleset.
enum FirewallRuleset {
  static let family = "inet"
  static let table = "cnet"
  static var qualified: String { "\(family) \(table)" }

  /// The per-host objects: maps, sets and base chains with their rules.
  static var skeleton: [String] {
    let t = qualified
    var lines = [
      "add table \(t)",
      // Published ports: (host address .) protocol . port -> container address . port.
      "add map \(t) pf4_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service ; }",
      "add map \(t) pf4_any { type inet_proto . inet_service : ipv4_addr . inet_service ; }",
      "add map \(t) pf6_ip { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service ; }",
      "add map \(t) pf6_any { type inet_proto . inet_service : ipv6_addr . inet_service ; }",
      // Per bridge: masquerade of what leaves from it, hairpin and localhost NAT of what enters it, forwarding policy.
      "add map \(t) post_iif { type ifname : verdict ; }",
      "add map \(t) post_oif { type ifname : verdict ; }",
      "add map \(t) fwd_iif { type ifname : verdict ; }",
      // Per bridge whose DNS server listens on another port than 53: the redirect of port 53 to it.
      "add map \(t) pre_iif { type ifname : verdict ; }",
      "add set \(t) bridges { type ifname ; }",
      "add set \(t) iso_bridges { type ifname ; }",
      "add chain \(t) hostports",
      // nft 1.0.6 refuses the dstnat keyword on an output hook: the numbers are the same.
      "add chain \(t) prerouting { type nat hook prerouting priority -100 ; policy accept ; }",
      "add chain \(t) output { type nat hook output priority -100 ; policy accept ; }",
      "add chain \(t) postrouting { type nat hook postrouting priority 100 ; policy accept ; }",
      "add chain \(t) forward { type filter hook forward priority 0 ; policy accept ; }",
    ]
    for chain in ["hostports", "prerouting", "output", "postrouting", "forward"] {
      lines.append("flush chain \(t) \(chain)")
    }
    lines += [
      "add rule \(t) prerouting iifname vmap @pre_iif",
      "add rule \(t) prerouting fib daddr type local jump hostports",
      "add rule \(t) output fib daddr type local jump hostports",
      // A port published on one address wins over the same port published on all.
      "add rule \(t) hostports meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @pf4_ip",
      "add rule \(t) hostports meta nfproto ipv4 dnat ip to meta l4proto . th dport map @pf4_any",
      "add rule \(t) hostports meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @pf6_ip",
      "add rule \(t) hostports meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @pf6_any",
      "add rule \(t) postrouting iifname vmap @post_iif",
      "add rule \(t) postrouting oifname vmap @post_oif",
      "add rule \(t) forward ct state invalid drop",
      // Published ports pass isolation (netavark marks them; the conntrack status says the same).
      "add rule \(t) forward ct status dnat accept",
      "add rule \(t) forward iifname vmap @fwd_iif",
    ]
    return lines
  }

  static func postChain(bridge: String) -> String { "post-\(bridge)" }
  static func hairpinChain(bridge: String) -> String { "postin-\(bridge)" }
  static func forwardChain(bridge: String) -> String { "fwd-\(bridge)" }
  static func dnsChain(bridge: String) -> String { "dns-\(bridge)" }

  /// The chain whose presence says that a bridge's objects are in place.
  static func marker(bridge: String) -> String { forwardChain(bridge: bridge) }

  /// A bridge network's chains and elements; named by the bridge, so that a network made again with the same bridge
  /// finds the same names and its rules are rewritten, not doubled.
  static func network(_ network: Network, dnsPort: Int = 53) -> [String] {
    let t = qualified
    let bridge = network.networkInterface
    let quoted = "\"\(bridge)\""
    let v4 = network.subnets.map(\.subnet).filter { !$0.address.isIPv6 }.map(\.description)
    let v6 = network.subnets.map(\.subnet).filter { $0.address.isIPv6 }.map(\.description)
    let post = postChain(bridge: bridge)
    let hairpin = hairpinChain(bridge: bridge)
    let forward = forwardChain(bridge: bridge)
    let dns = dnsChain(bridge: bridge)
    var lines: [String] = []
    for chain in [post, hairpin, forward, dns] {
      lines += ["add chain \(t) \(chain)", "flush chain \(t) \(chain)"]
    }
    // Masquerade: from the subnet to anywhere but the subnet and multicast; SNAT to the network's outbound address
    // when it has one.
    for (subnets, family, multicast, outbound) in [
      (v4, "ip", "224.0.0.0/4", "outbound_addr4"), (v6, "ip6", "ff00::/8", "outbound_addr6"),
    ] where !subnets.isEmpty {
      let list = "{ \(subnets.joined(separator: ", ")) }"
      let source = network.options[outbound].map { "snat \(family) to \($0)" } ?? "masquerade"
      lines += [
        "add rule \(t) \(post) \(family) daddr \(list) return",
        "add rule \(t) \(post) \(family) daddr \(multicast) return",
        "add rule \(t) \(post) \(family) saddr \(list) \(source)",
      ]
    }
    // Hairpin (a container reaching a published port of its own network through a host address) and localhost
    // (127.0.0.1, which route_localnet lets out to the bridge) need the reply to come back through the host.
    lines.append(
      "add rule \(t) \(hairpin) ct status dnat ip saddr { \((v4 + ["127.0.0.0/8"]).joined(separator: ", ")) } masquerade"
    )
    if !v6.isEmpty {
      lines.append("add rule \(t) \(hairpin) ct status dnat ip6 saddr { \(v6.joined(separator: ", ")) } masquerade")
    }
    // Forwarding from the bridge: within it always; out of an internal network never; to other isolated bridges
    // (isolate=true) or to any other of our bridges (strict) not.
    lines.append("add rule \(t) \(forward) oifname \(quoted) return")
    if network.internal {
      lines.append("add rule \(t) \(forward) drop")
    }
    switch network.options["isolate"] {
    case "true": lines.append("add rule \(t) \(forward) oifname @iso_bridges drop")
    case "strict": lines.append("add rule \(t) \(forward) oifname @bridges drop")
    default: break
    }
    if !network.internal {
      lines.append("add element \(t) post_iif { \(quoted) : jump \(post) }")
    }
    lines += [
      "add element \(t) post_oif { \(quoted) : jump \(hairpin) }",
      "add element \(t) fwd_iif { \(quoted) : jump \(forward) }",
      "add element \(t) bridges { \(quoted) }",
    ]
    if let isolate = network.options["isolate"], isolate == "true" || isolate == "strict" {
      lines.append("add element \(t) iso_bridges { \(quoted) }")
    }
    // Containers ask the gateway's port 53; a server on `dns_bind_port` gets it redirected, as netavark does.
    let gateways = network.subnets.compactMap(\.gateway)
    if network.dnsEnabled && dnsPort != 53 && !gateways.isEmpty {
      for gateway in gateways {
        let (family, target) = gateway.isIPv6 ? ("ip6", "[\(gateway)]") : ("ip", "\(gateway)")
        lines.append(
          "add rule \(t) \(dns) \(family) daddr \(gateway) meta l4proto { tcp, udp } th dport 53 dnat \(family) to \(target):\(dnsPort)"
        )
      }
      lines.append("add element \(t) pre_iif { \(quoted) : jump \(dns) }")
    }
    return lines
  }

  /// Removes a bridge's chains and elements, whether or not they are there: each is added first (no error if it
  /// exists) and then deleted, in one transaction with the skeleton that holds them.
  static func removal(bridge: String) -> [String] {
    let t = qualified
    let quoted = "\"\(bridge)\""
    let post = postChain(bridge: bridge)
    let hairpin = hairpinChain(bridge: bridge)
    let forward = forwardChain(bridge: bridge)
    let dns = dnsChain(bridge: bridge)
    var lines = skeleton
    for chain in [post, hairpin, forward, dns] { lines.append("add chain \(t) \(chain)") }
    for (map, chain) in [("post_iif", post), ("post_oif", hairpin), ("fwd_iif", forward), ("pre_iif", dns)] {
      lines += [
        "add element \(t) \(map) { \(quoted) : jump \(chain) }",
        "delete element \(t) \(map) { \(quoted) }",
      ]
    }
    for set in ["bridges", "iso_bridges"] {
      lines += ["add element \(t) \(set) { \(quoted) }", "delete element \(t) \(set) { \(quoted) }"]
    }
    for chain in [post, hairpin, forward, dns] { lines.append("delete chain \(t) \(chain)") }
    return lines
  }

  /// Published ports as `add element` lines (a reload adds them back; those present stay as they are).
  static func elements(_ forwards: [PortForward]) -> [String] {
    forwards.map { "add element \(qualified) \($0.map) { \($0.nftElement) }" }
  }
}
