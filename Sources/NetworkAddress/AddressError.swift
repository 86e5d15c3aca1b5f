/// The one error type of the NetworkAddress module: what went wrong and the value that caused it.
public struct AddressError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
  /// What went wrong.
  public enum Kind: Hashable, Sendable {
    /// Text that is not an IPv4 or IPv6 address.
    case invalidAddress
    /// Text that is not a CIDR network ("address/prefix").
    case invalidNetwork
    /// A prefix length outside 0...32 (IPv4) or 0...128 (IPv6).
    case invalidPrefixLength
    /// Text that is not a MAC address.
    case invalidMAC
    /// A host offset that lies outside its network.
    case outOfRange
    /// There is no next subnet: the network is the last one of its size.
    case addressSpaceExhausted
    /// Every subnet of every pool overlaps a subnet in use.
    case poolsExhausted
  }

  /// What went wrong.
  public var kind: Kind
  /// The offending input, as the caller gave it (or a short rendering of the values involved).
  public var text: String

  /// Creates an error of `kind` about `text`.
  public init(_ kind: Kind, _ text: String) {
    self.kind = kind
    self.text = text
  }

  /// A one-line, user-readable message that names the bad value.
  ///
  /// The wording of the parse errors follows Go's `net` package, so messages read like Podman's.
  public var description: String {
    switch kind {
    case .invalidAddress: "invalid IP address: \(text)"
    case .invalidNetwork: "invalid CIDR address: \(text)"
    case .invalidPrefixLength: "invalid prefix length: \(text)"
    case .invalidMAC: "invalid MAC address: \(text)"
    case .outOfRange: "address out of range: \(text)"
    case .addressSpaceExhausted: "no next subnet after \(text): end of the address space"
    case .poolsExhausted: "could not find free subnet from subnet pools: \(text)"
    }
  }
}
