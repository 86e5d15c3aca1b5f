import ArgumentParser
import ContainerNetworkCore
import NetworkBackendFactory

/// `cnet info`: what was chosen and from where.
struct Info: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info",
    abstract: "Show the backend, its directories, defaults and programs, and where each setting came from.")

  @OptionGroup var global: GlobalOptions
  @Option(name: [.short, .long], help: "json, or text (the default).") var format: String?

  func run() async throws {
    guard format == nil || format == "json" || format == "text" else {
      throw ValidationError("unknown format \(format!): use json or text")
    }
    let settings = try global.settings.networkSettings()
    let backend = try NetworkBackendFactory.makeBackend(settings)
    let info = await NetworkBackendFactory.networkInfo(of: backend, settings: settings)
    if format == "json" {
      print(try OutputFormatting.json(info, indent: "  "))
    } else {
      print(Self.text(info), terminator: "")
    }
  }

  /// The setting behind each directory role, for its origin.
  static let directorySettings = [
    "config": "network_config_dir", "plugins": "cni_plugin_dirs", "cache": "cache_dir", "run": "run_dir",
    "helpers": "helper_binaries_dir", "host-local": "host_local_dir", "host-netns": "host_netns",
  ]

  /// One `key: value` line per setting, the origin in parentheses when it is not a default.
  static func text(_ info: NetworkInfo) -> String {
    func origin(_ setting: String) -> String { info.origins[setting].map { " (\($0))" } ?? "" }
    var lines = ["backend: \(info.backend)\(origin("network_backend"))"]
    lines.append("config files: \(info.configFiles.isEmpty ? "none" : info.configFiles.joined(separator: ", "))")
    lines.append("directories:")
    for role in info.directories.keys.sorted() {
      let paths = info.directories[role]!.joined(separator: ":")
      lines.append("  \(role): \(paths)\(origin(directorySettings[role] ?? role))")
    }
    lines.append("default network: \(info.defaultNetwork)\(origin("default_network"))")
    lines.append("default subnet: \(info.defaultSubnet)\(origin("default_subnet"))")
    let pools = info.subnetPools.map { "\($0.base) (/\($0.size))" }.joined(separator: ", ")
    lines.append("default subnet pools: \(pools)\(origin("default_subnet_pools"))")
    if let timeout = info.origins["plugin_timeout"] { lines.append("plugin timeout: from \(timeout)") }
    lines.append("programs:")
    for program in info.programs {
      guard let path = program.path else {
        lines.append("  \(program.name): not found")
        continue
      }
      lines.append("  \(program.name): \(path)\(program.version.map { ", \($0)" } ?? "")")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
