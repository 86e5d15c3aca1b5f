import Foundation
import TestSupport
import Testing

/// What every subcommand shares: global options before or after the subcommand, environment defaults, help,
/// completion, version, usage errors and their statuses.
@Suite struct GlobalBehaviourTests {
  static let subcommands = [
    "create", "ls", "inspect", "rm", "prune", "exists", "update", "setup", "teardown", "run", "version", "completion",
  ]

  @Test func binaryIsBuiltNextToTheTests() throws {
    let path = try CNetBinary.require()
    #expect(access(path, X_OK) == 0)
  }

  @Test func versionPrintsOneLine() async throws {
    try await withSandbox { cnet in
      let result = try cnet.raw(["version"])
      #expect(result.status == 0)
      #expect(result.stdout == "cnet version 0.1.0\n")
      #expect(result.stderr == "")
      #expect(try cnet.raw(["--version"]).stdout == "0.1.0\n")
      // Global options are accepted by every subcommand, version included.
      #expect(try cnet.succeed(["version"]) == "cnet version 0.1.0\n")
      #expect(try cnet.raw(["--log-level", "debug", "version"]).stdout == "cnet version 0.1.0\n")
    }
  }

  @Test func topLevelHelpListsEverySubcommand() async throws {
    try await withSandbox { cnet in
      for arguments in [["--help"], ["-h"], ["help"], []] {
        let result = try cnet.raw(arguments)
        #expect(result.status == 0, "cnet \(arguments)")
        #expect(result.stderr == "")
        #expect(result.stdout.contains("USAGE: cnet <subcommand>"))
        for subcommand in Self.subcommands { #expect(result.stdout.contains("  \(subcommand)")) }
        #expect(result.stdout.contains("CNET_HOST_NETNS"))
      }
    }
  }

  @Test(arguments: subcommands)
  func everySubcommandHasHelp(_ subcommand: String) async throws {
    try await withSandbox { cnet in
      for arguments in [[subcommand, "--help"], ["help", subcommand], [subcommand, "-h"]] {
        let result = try cnet.raw(arguments)
        #expect(result.status == 0, "cnet \(arguments)")
        #expect(result.stderr == "")
        #expect(result.stdout.contains("USAGE: cnet \(subcommand)"))
        // The global options are listed on every level.
        #expect(result.stdout.contains("--config-dir <config-dir>"))
        #expect(result.stdout.contains("--plugin-timeout <plugin-timeout>"))
      }
    }
  }

  static let completionMarkers: [(String, String)] = [
    ("bash", "complete -o filenames -F _cnet cnet"),
    ("zsh", "#compdef cnet"),
    ("fish", "complete -c 'cnet'"),
  ]

  @Test(arguments: completionMarkers)
  func completionScripts(_ shell: String, _ marker: String) async throws {
    try await withSandbox { cnet in
      let result = try cnet.raw(["completion", shell])
      #expect(result.status == 0)
      #expect(result.stderr == "")
      #expect(result.stdout.contains(marker))
      for subcommand in ["create", "inspect", "teardown", "completion"] { #expect(result.stdout.contains(subcommand)) }
      // The parser's own spelling works too.
      #expect(try cnet.raw(["--generate-completion-script", shell]).stdout == result.stdout)
    }
  }

  @Test func completionOfAnUnknownShellIsAnError() async throws {
    try await withSandbox { cnet in
      let result = try cnet.raw(["completion", "tcsh"])
      #expect(result.status != 0)
      #expect(result.stdout == "")
      #expect(result.stderr.contains("unknown shell tcsh: use bash, zsh or fish"))
    }
  }

  static let usageErrors: [([String], String)] = [
    (["ls", "--bogus"], "Error: Unknown option '--bogus'"),
    (["bogus"], "Error: Unexpected argument 'bogus'"),
    (["inspect"], "Error: Missing expected argument '<networks> ...'"),
    (["rm"], "Error: Missing expected argument '<networks> ...'"),
    (["exists"], "Error: Missing expected argument '<network>'"),
    (["setup", "/run/netns/x"], "Error: Missing expected argument '--container-id <container-id>'"),
    (["teardown", "--container-id", "c1"], "Error: Missing expected argument '<namespace-path>'"),
    (["create", "--subnet"], "Error: Missing value for '--subnet <subnet>'"),
    (["ls", "--backend", "docker"], "Error: unknown backend docker: use cni, netavark or native"),
    (["ls", "--log-level", "loud"], "Error: --log-level must be error, warn, info or debug"),
    (["ls", "--plugin-timeout", "0"], "Error: --plugin-timeout must be positive"),
    (["ls", "--plugin-timeout", "40000000"], "Error: --plugin-timeout must be at most 31536000 seconds"),
    (["ls", "--plugin-timeout", "inf"], "Error: --plugin-timeout inf is not a number of seconds such as 60 or 2.5"),
    (
      ["setup", "--plugin-timeout", "1e300", "--container-id", "c", "/ns"],
      "Error: --plugin-timeout 1e300 is not a number of seconds such as 60 or 2.5"
    ),
    // Double's parser reads hexadecimal: 0x10 was 16 seconds.
    (["ls", "--plugin-timeout", "0x10"], "Error: --plugin-timeout 0x10 is not a number of seconds such as 60 or 2.5"),
    (
      ["setup", "--plugin-timeout", "0x10", "--container-id", "c", "/ns"],
      "Error: --plugin-timeout 0x10 is not a number of seconds such as 60 or 2.5"
    ),
    (["ls", "--plugin-timeout", "soon"], "Error: --plugin-timeout soon is not a number of seconds such as 60 or 2.5"),
  ]

  /// Bad flags print a usage message on stderr, nothing on stdout, and fail.
  @Test(arguments: usageErrors)
  func badFlagsPrintUsage(_ arguments: [String], _ firstLine: String) async throws {
    try await withSandbox { cnet in
      let result = try cnet.raw(arguments)
      #expect(result.status == 125)
      #expect(result.stdout == "")
      #expect(result.stderr.hasPrefix(firstLine + "\n"), "\(result.stderr)")
      #expect(result.stderr.contains("Usage: cnet"))
      #expect(!result.stderr.contains("Fatal error"))
    }
  }

  /// containers.conf chooses what a command with no flags uses; `cnet info` says what was chosen and from where;
  /// CNET_* variables and flags override the file, in that order.
  @Test func containersConfChoosesTheConfigDirectoryAndInfoSaysSo() async throws {
    try await withSandbox { cnet in
      let networks = cnet.root.appending("from-conf")
      let conf = cnet.root.appending("x.conf")
      let text =
        "[network]\nnetwork_config_dir = \"\(networks)\"\n"
        + "default_subnet_pools = [{base = \"10.150.0.0/16\", size = 26}]\n"
      try text.write(toFile: conf, atomically: true, encoding: .utf8)
      // No directory flags, and no CNET_CONFIG_DIR: the file decides.
      var environment = ["CONTAINERS_CONF": conf, "CNET_CONFIG_DIR": ""]
      let created = try cnet.raw(
        ["create", "--disable-dns", "--cache-dir", cnet.cacheDir, "confnet"], environment: environment)
      #expect(created.status == 0, "\(created.stderr)")
      #expect(FileManager.default.fileExists(atPath: "\(networks)/confnet.conflist"))
      let listed = try cnet.raw(["ls", "-q", "--cache-dir", cnet.cacheDir], environment: environment)
      #expect(listed.stdout == "confnet\npodman\n")
      let inspected = try cnet.raw(
        ["inspect", "--format", "{{.Subnets}}", "--cache-dir", cnet.cacheDir, "confnet"], environment: environment)
      #expect(inspected.stdout == "[{10.150.0.0/26 10.150.0.1 <nil>}]\n")

      let info = try cnet.raw(["info", "--cache-dir", cnet.cacheDir], environment: environment)
      #expect(info.status == 0, "\(info.stderr)")
      #expect(info.stdout.contains("config files: \(conf)\n"))
      #expect(info.stdout.contains("  config: \(networks) (containers.conf)\n"))
      #expect(info.stdout.contains("  cache: \(cnet.cacheDir) (--cache-dir)\n"))
      #expect(info.stdout.contains("default subnet pools: 10.150.0.0/16 (/26) (containers.conf)\n"))
      let json = try #require(
        try parseJSON(try cnet.raw(["info", "--format", "json"], environment: environment).stdout) as? [String: Any])
      #expect(json["backend"] as? String == "cni")
      #expect(json["config_files"] as? [String] == [conf])
      #expect((json["directories"] as? [String: [String]])?["config"] == [networks])

      // The variable over the file, the flag over both.
      environment["CNET_CONFIG_DIR"] = cnet.configDir
      #expect(try cnet.raw(["ls", "-q"], environment: environment).stdout == "podman\n")
      let flagged = try cnet.raw(["ls", "-q", "--config-dir", networks], environment: environment)
      #expect(flagged.stdout == "confnet\npodman\n")
    }
  }

  @Test func aMalformedContainersConfIsOneLineNamingFileAndLine() async throws {
    try await withSandbox { cnet in
      let conf = cnet.root.appending("bad.conf")
      try "[network]\nnetwork_backend = \"cni\"\nnetwork_backend = \"cni\"\n".write(
        toFile: conf, atomically: true, encoding: .utf8)
      let result = try cnet.cnet(["ls"], environment: ["CONTAINERS_CONF": conf])
      #expect(result.status == 125)
      #expect(result.stderr.hasPrefix("Error: containers.conf \(conf): line 3"), "\(result.stderr)")
      #expect(result.stderr.split(separator: "\n").count == 1)
    }
  }

  @Test func backendFlagSelectsTheNetavarkBackend() async throws {
    try await withSandbox { cnet in
      let run = ["--run-dir", cnet.root.appending("run")]
      let name = UniqueName.make("nvsel")
      #expect(
        try cnet.succeed(["create", "--backend", "netavark", "--subnet", "10.231.63.0/24", name] + run) == "\(name)\n")
      #expect(FileManager.default.fileExists(atPath: "\(cnet.configDir)/\(name).json"))
      let listed = try cnet.succeed(["ls", "--backend", "netavark"] + run)
      #expect(listed.contains("2f259bab93aa  podman") && listed.contains(name))
      // The CNI backend reads only .conflist files: the JSON network is not its.
      #expect(try cnet.cnet(["ls", "--backend", "cni", "-q"]).stdout == "podman\n")
    }
  }

  /// `cnet --config-dir X ls`, `cnet ls --config-dir X` and `--config-dir=X` all read the same directory.
  @Test func globalOptionsBeforeAndAfterTheSubcommand() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("gl")
      let created = try cnet.raw(
        [
          "--config-dir", cnet.configDir, "--cache-dir", cnet.cacheDir, "--log-level", "error", "create", "--subnet",
          "10.231.60.0/24", name,
        ])
      #expect(created.status == 0)
      #expect(created.stdout == "\(name)\n")
      let expected = "\(name)\npodman\n"
      for arguments in [
        ["--config-dir", cnet.configDir, "ls", "-q"],
        ["--config-dir=\(cnet.configDir)", "ls", "-q"],
        ["ls", "-q", "--config-dir", cnet.configDir],
        ["ls", "--config-dir=\(cnet.configDir)", "-q"],
        [
          "--plugin-dir", "/nonexistent", "--plugin-dir", "/usr/lib/cni", "--plugin-timeout", "5", "--backend", "cni",
          "--run-dir", cnet.root.appending("run"), "ls", "-q", "--config-dir", cnet.configDir,
        ],
      ] {
        let result = try cnet.raw(arguments)
        #expect(result.status == 0, "cnet \(arguments): \(result.stderr)")
        #expect(result.stdout == expected, "cnet \(arguments)")
      }
      // The commands above named no cache directory: their network index went to the sandbox's default, which
      // stands in for /var/lib/cni.
      #expect(FileManager.default.fileExists(atPath: "\(cnet.defaultCacheDir)/cnet"))
      let exists = try cnet.raw(["--config-dir", cnet.configDir, "exists", name])
      #expect(exists.status == 0)
      let removed = try cnet.raw(["--config-dir", cnet.configDir, "rm", name])
      #expect(removed.stdout == "\(name)\n")
    }
  }

  /// CNET_CONFIG_DIR, CNET_CACHE_DIR, CNET_BACKEND, CNET_LOG_LEVEL and CNET_PLUGIN_TIMEOUT set the defaults; a flag wins.
  @Test func environmentVariablesSetTheDefaults() async throws {
    try await withSandbox { cnet in
      let name = UniqueName.make("env")
      let environment = ["CNET_CONFIG_DIR": cnet.configDir, "CNET_CACHE_DIR": cnet.cacheDir]
      let created = try cnet.raw(["create", "--subnet", "10.231.61.0/24", name], environment: environment)
      #expect(created.status == 0)
      #expect(FileManager.default.fileExists(atPath: "\(cnet.configDir)/\(name).conflist"))
      #expect(try cnet.raw(["ls", "-q"], environment: environment).stdout == "\(name)\npodman\n")

      // A flag beats the environment.
      let other = cnet.root.appending("other")
      #expect(try cnet.raw(["ls", "-q", "--config-dir", other], environment: environment).stdout == "podman\n")

      // CNET_BACKEND=netavark reads JSON networks only: the conflist made above is not among them.
      let netavark = try cnet.raw(
        ["ls", "-q", "--run-dir", cnet.root.appending("run")],
        environment: environment.merging(["CNET_BACKEND": "netavark"]) { $1 })
      #expect(netavark.status == 0)
      #expect(netavark.stdout == "podman\n")
      let badLevel = try cnet.raw(["ls"], environment: environment.merging(["CNET_LOG_LEVEL": "loud"]) { $1 })
      #expect(badLevel.status == 125)
      #expect(badLevel.stderr.hasPrefix("Error: --log-level must be error, warn, info or debug"))

      // CNET_LOG_LEVEL=error silences the warning an internal network prints.
      let quiet = try cnet.raw(
        ["create", "--internal", "--subnet", "10.231.62.0/24", name + "i"],
        environment: environment.merging(["CNET_LOG_LEVEL": "error"]) { $1 })
      #expect(quiet.status == 0)
      #expect(quiet.stderr == "")
      let timeout = try cnet.raw(["ls", "-q"], environment: environment.merging(["CNET_PLUGIN_TIMEOUT": "3"]) { $1 })
      #expect(timeout.status == 0)
    }
  }

  /// The arguments of setup, teardown and run are checked before anything is attached; no root needed.
  static let attachmentErrors: [([String], String)] = [
    (["setup", "--container-id", "c1", "/run/netns/none"], "Error: must specify at least one network\n"),
    (
      ["setup", "--container-id", "c1", "--network", "web:ip=999.1.1.1", "/run/netns/none"],
      "Error: invalid IP address 999.1.1.1 for network web\n"
    ),
    (
      ["teardown", "--container-id", "c1", "--network", "web:color=red", "/run/netns/none"],
      "Error: unknown network option color: use ip, mac, alias or interface_name\n"
    ),
    (
      ["setup", "--container-id", "c1", "--network", "web", "--network", "web", "/run/netns/none"],
      "Error: network web is given twice\n"
    ),
    (
      ["setup", "--container-id", "c1", "--network", "web", "-p", "80/icmp", "/run/netns/none"],
      "Error: invalid publish spec 80/icmp: unknown protocol icmp: use tcp, udp or sctp\n"
    ),
    (["run", "--container-id", "c1"], "Error: run needs a command after --\n"),
    (["run", "--container-id", "c1", "true"], "Error: Unexpected argument 'true'\n"),
    (["run", "--container-id", "c1", "--bogus", "--", "true"], "Error: Unknown option '--bogus'\n"),
    (
      ["run", "--container-id", "c1", "--", "no-such-command-xyz"],
      "Error: no-such-command-xyz: executable file not found in $PATH\n"
    ),
    (
      ["run", "--container-id", "c1", "--network", "web:ip=1", "--", "true"],
      "Error: invalid IP address 1 for network web\n"
    ),
    (
      ["run", "--container-id", "c1", "-p", "0", "--", "true"],
      "Error: invalid publish spec 0: invalid container port 0\n"
    ),
  ]

  @Test(arguments: attachmentErrors)
  func attachmentArgumentErrors(_ arguments: [String], _ expected: String) async throws {
    try await withSandbox { cnet in
      let result = try cnet.cnet(arguments)
      #expect(result.status == 125)
      #expect(result.stdout == "")
      #expect(result.stderr.hasPrefix(expected), "\(result.stderr)")
      #expect(!FileManager.default.fileExists(atPath: "/run/netns/cnet-c1"))
    }
  }
}
