/// A setting that chooses or configures a backend, named as containers.conf names it (cnet's own name for the few
/// that containers.conf lacks). It keys where each setting came from, in ``NetworkInfo/origins``, so that a flag,
/// a `CNET_*` variable and `cnet info` cannot disagree on a spelling.
public enum NetworkSetting: String, Hashable, Sendable, CaseIterable, Codable, CodingKeyRepresentable {
  case networkBackend = "network_backend"
  case networkConfigDirectory = "network_config_dir"
  case cniPluginDirectories = "cni_plugin_dirs"
  /// `[engine] helper_binaries_dir`: where netavark and aardvark-dns are found.
  case helperBinariesDirectory = "helper_binaries_dir"
  case defaultNetwork = "default_network"
  case defaultSubnet = "default_subnet"
  case defaultSubnetPools = "default_subnet_pools"
  case firewallDriver = "firewall_driver"
  case dnsBindPort = "dns_bind_port"
  case pluginTimeout = "plugin_timeout"
  case cacheDirectory = "cache_dir"
  case runDirectory = "run_dir"
  case hostLocalDirectory = "host_local_dir"
  case hostNamespace = "host_netns"
}
