import ArgumentParser
import ContainerNetworkCore
import NetworkAddress
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
  static let directorySettings: [String: NetworkSetting] = [
    "config": .networkConfigDirectory, "plugins": .cniPluginDirectories, "cache": .cacheDirectory,
    "run": .runDirectory, "helpers": .helperBinariesDirectory, "host-local": .hostLocalDirectory,
    "host-netns": .hostNamespace,
  ]

  /// One `key: value` line per setting, the origin in parentheses when it is not a default.
  static func text(_ info: NetworkInfo) -> String {
    func origin(_ setting: NetworkSetting?) -> String { setting.flatMap { info.origins[$0] }.map { " (\($0))" } ?? "" }
    var lines = ["backend: \(info.backend)\(origin(.networkBackend))"]
    lines.append("config files: \(info.configFiles.isEmpty ? "none" : info.configFiles.joined(separator: ", "))")
    lines.append("directories:")
    for role in info.directories.keys.sorted() {
      let paths = info.directories[role]!.joined(separator: ":")
      lines.append("  \(role): \(paths)\(origin(directorySettings[role]))")
    }
    lines.append("default network: \(info.defaultNetwork)\(origin(.defaultNetwork))")
    lines.append("default subnet: \(info.defaultSubnet)\(origin(.defaultSubnet))")
    let pools = info.subnetPools.map { "\($0.base) (/\($0.size))" }.joined(separator: ", ")
    lines.append("default subnet pools: \(pools)\(origin(.defaultSubnetPools))")
    if let timeout = info.origins[.pluginTimeout] { lines.append("plugin timeout: from \(timeout)") }
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
