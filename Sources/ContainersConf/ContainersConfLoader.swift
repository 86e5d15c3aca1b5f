#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension ContainersConf {
  /// Where the files Podman reads as root live; tests point them into a temporary directory.
  public struct SearchPaths: Sendable, Equatable {
    /// The distribution's defaults, read first: `/usr/share/containers/containers.conf`.
    public var distributionFile: String
    /// The administrator's file, read next: `/etc/containers/containers.conf`.
    public var systemFile: String
    /// The drop-in directory whose `*.conf` files are read last, in name order:
    /// `/etc/containers/containers.conf.d`.
    public var dropInDirectory: String

    /// Search paths with the given locations.
    public init(distributionFile: String, systemFile: String, dropInDirectory: String) {
      self.distributionFile = distributionFile
      self.systemFile = systemFile
      self.dropInDirectory = dropInDirectory
    }

    /// Podman's locations on Linux.
    public static let `default` = SearchPaths(
      distributionFile: "/usr/share/containers/containers.conf",
      systemFile: "/etc/containers/containers.conf",
      dropInDirectory: "/etc/containers/containers.conf.d")
  }

  /// The environment variable naming the one file to read instead of all the default ones.
  public static let fileVariable = "CONTAINERS_CONF"
  /// The environment variable naming a file read last, over everything else.
  public static let overrideVariable = "CONTAINERS_CONF_OVERRIDE"

  /// ``fileVariable`` and ``overrideVariable`` as this process has them (read with `getenv`), the only variables
  /// ``load(environment:searchPaths:)`` looks at.
  public static func processEnvironment() -> [String: String] {
    var environment: [String: String] = [:]
    for name in [fileVariable, overrideVariable] {
      if let value = getenv(name) { environment[name] = String(cString: value) }
    }
    return environment
  }

  /// Reads containers.conf the way Podman's containers/common `config` package does for root.
  ///
  /// The files, each laid over the ones before it key by key:
  /// 1. `searchPaths.distributionFile`, then `searchPaths.systemFile`, then every `*.conf` in
  ///    `searchPaths.dropInDirectory` in byte order of their names; a missing file or directory is skipped. When
  ///    `CONTAINERS_CONF` is set and not empty, that file alone replaces all of these, and it must exist.
  /// 2. `CONTAINERS_CONF_OVERRIDE`, when set and not empty, last; it must exist.
  ///
  /// With no files at all the result has every key nil and `files == []`.
  /// - Parameters:
  ///   - environment: where to look up the two variables; by default this process's environment.
  ///   - searchPaths: the default files' locations.
  /// - Throws: for a file that exists but cannot be read, is not UTF-8 TOML, or gives a known key a value of the
  ///   wrong type or range, and for a file named by either variable that does not exist.
  public static func load(
    environment: [String: String] = processEnvironment(), searchPaths: SearchPaths = .default
  ) throws(ContainersConfError) -> ContainersConf {
    var conf = ContainersConf()
    if let path = environment[fileVariable], !path.isEmpty {
      try conf.merge(file: path, namedBy: fileVariable)
    } else {
      try conf.mergeIfPresent(file: searchPaths.distributionFile)
      try conf.mergeIfPresent(file: searchPaths.systemFile)
      for path in try ConfigurationFiles.dropIns(in: searchPaths.dropInDirectory) {
        try conf.mergeIfPresent(file: path)
      }
    }
    if let path = environment[overrideVariable], !path.isEmpty {
      try conf.merge(file: path, namedBy: overrideVariable)
    }
    return conf
  }

  /// Lays the file at `path` over this configuration, as a file later in Podman's order would be.
  ///
  /// On error the configuration is left as it was.
  /// - Throws: when the file does not exist, cannot be read, or is not valid (see ``load(environment:searchPaths:)``).
  public mutating func merge(file path: String) throws(ContainersConfError) {
    try merge(file: path, namedBy: nil)
  }

  /// Lays TOML `text` over this configuration as though it were read from `file`, the name used in errors and
  /// recorded in ``files``.
  ///
  /// On error the configuration is left as it was.
  public mutating func merge(text: String, file: String) throws(ContainersConfError) {
    try FileDecoder(file: file).merge(text, into: &self)
  }

  private mutating func merge(file path: String, namedBy variable: String?) throws(ContainersConfError) {
    guard let bytes = try ConfigurationFiles.contents(of: path) else {
      let origin = variable.map { " (named by \($0))" } ?? ""
      throw ContainersConfError(file: path, message: "no such file\(origin)")
    }
    try FileDecoder(file: path).merge(bytes, into: &self)
  }

  private mutating func mergeIfPresent(file path: String) throws(ContainersConfError) {
    guard let bytes = try ConfigurationFiles.contents(of: path) else { return }
    try FileDecoder(file: path).merge(bytes, into: &self)
  }
}
