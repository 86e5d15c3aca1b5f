/// The naming rules for networks, interfaces and containers, shared by every backend.
public enum NameValidation {
  /// Longer names would not fit a file name (`<name>.conflist`) on common file systems.
  public static let maximumNetworkNameLength = 200

  /// A network name matches `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$` (Podman's rule) and fits a file name.
  public static func validateNetworkName(_ name: String) throws(NetworkError) {
    guard isPodmanName(name) else {
      throw NetworkError(
        .invalidArgument,
        "network name \(displayed(name)) invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument")
    }
    guard name.utf8.count <= maximumNetworkNameLength else {
      throw NetworkError(
        .invalidArgument,
        "network name \(name.prefix(20))… invalid: longer than \(maximumNetworkNameLength) characters")
    }
  }

  /// A Linux interface name: 1–15 bytes, not `.` or `..`, without `/`, `:` or white space.
  public static func validateInterfaceName(_ name: String) throws(NetworkError) {
    let bytes = Array(name.utf8)
    let valid =
      !bytes.isEmpty && bytes.count <= 15 && name != "." && name != ".."
      && !bytes.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 32 || $0 == 127 }
    guard valid else {
      throw NetworkError(
        .invalidArgument,
        "interface name \(displayed(name)) invalid: it must be 1 to 15 bytes, not . or .., without /, : or spaces")
    }
  }

  /// A container ID as libcni accepts it: `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`.
  public static func validateContainerID(_ id: String) throws(NetworkError) {
    guard !id.isEmpty else { throw NetworkError(.invalidArgument, "container ID must not be empty") }
    guard isPodmanName(id), id.utf8.count <= 1024 else {
      throw NetworkError(
        .invalidArgument, "container ID \(displayed(id)) invalid: it must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    }
  }

  /// A DNS name for an alias or a container name: letters, digits, `-`, `_` and `.`.
  public static func validateDNSName(_ name: String) throws(NetworkError) {
    guard isPodmanName(name), name.utf8.count <= 253 else {
      throw NetworkError(
        .invalidArgument, "DNS name \(displayed(name)) invalid: it must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    }
  }

  /// Whether `name` matches Podman's `[a-zA-Z0-9][a-zA-Z0-9_.-]*` (so it is also safe as a file name).
  public static func isPodmanName(_ name: String) -> Bool {
    let bytes = name.utf8
    guard let first = bytes.first, isAlphanumeric(first) else { return false }
    return bytes.dropFirst().allSatisfy {
      isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
    }
  }

  private static func isAlphanumeric(_ byte: UInt8) -> Bool {
    (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
  }

  /// A user-supplied value in a readable, bounded form for a one-line message: quoted when it holds spaces,
  /// control characters or non-ASCII text, cut after 80 characters.
  public static func displayed(_ name: String) -> String {
    let needsQuoting = name.isEmpty || name.unicodeScalars.contains { $0.value < 33 || $0.value > 126 }
    var shown = needsQuoting ? String(reflecting: name) : name
    if shown.count > 80 { shown = String(shown.prefix(80)) + "…" }
    return shown
  }
}
