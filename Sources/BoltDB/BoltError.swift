#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why a bbolt database file could not be read: the file it is about and one kind of failure.
///
/// Every damaged, truncated or foreign file ends in one of these, never in a trap, because the files we read belong to
/// another program (Podman) and may be half-written, damaged on disk, or something else altogether.
public struct BoltError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The failure, without the file name. It is an `Error` only so the decoder can throw it before the path is added.
  public enum Kind: Error, Sendable, Equatable, CustomStringConvertible {
    /// `open(2)` failed with this errno (`ENOENT` when the file does not exist).
    case cannotOpen(errno: Int32)
    /// `fstat(2)` or `pread(2)` failed with this errno.
    case cannotRead(errno: Int32)
    /// The path names a directory, a device or a socket.
    case notRegularFile
    /// The file is larger than the reader was allowed to load into memory.
    case tooLarge(size: Int, limit: Int)
    /// Neither meta page is usable; the problem found in each one.
    case noValidMeta(first: MetaProblem, second: MetaProblem)
    /// The file ends before the last page the chosen meta page says exists.
    case truncated(size: Int, needed: UInt64)
    /// A page id outside the pages a tree may use (the meta pages, or at or past the high-water mark).
    case pageOutOfRange(page: UInt64, pageCount: UInt64)
    /// The page header names a different page than the one that was referenced.
    case pageIDMismatch(page: UInt64, stored: UInt64)
    /// A tree references a page that is neither a branch nor a leaf page.
    case unexpectedPageType(page: UInt64, flags: UInt16)
    /// The element table of a page does not fit in the page.
    case elementsPastPageEnd(page: UInt64, count: Int)
    /// A key or value of an element lies outside its page.
    case elementOutOfBounds(page: UInt64, element: Int)
    /// A nested bucket's value is too short for a bucket header, or its inline page is not a valid leaf.
    case badBucketValue(page: UInt64, element: Int)
    /// A page is reachable twice: a cycle or two trees sharing pages, so the file is damaged.
    case pageReferencedTwice(page: UInt64)
    /// Keys of a bucket are not in strictly ascending byte order.
    case keysOutOfOrder(page: UInt64, element: Int)
    /// Trees and nested buckets go deeper than the limit (a damaged or hostile file).
    case tooDeep(limit: Int)
    /// Another process kept committing while the file was read, and no stable copy could be taken.
    case changedWhileReading(attempts: Int)
    /// The bbolt structure is sound but does not hold what the caller's layout (Podman's IPAM) expects.
    case unexpectedContent(String)

    public var description: String {
      switch self {
      case .cannotOpen(let code): "cannot open: \(errorText(code))"
      case .cannotRead(let code): "cannot read: \(errorText(code))"
      case .notRegularFile: "not a regular file"
      case .tooLarge(let size, let limit): "file is \(size) bytes, more than the \(limit) bytes this reader loads"
      case .noValidMeta(let first, let second):
        "not a valid bbolt database: meta page 0: \(first); meta page 1: \(second)"
      case .truncated(let size, let needed): "truncated: file is \(size) bytes but its pages need \(needed)"
      case .pageOutOfRange(let page, let count): "page \(page) referenced, but tree pages are 2..<\(count)"
      case .pageIDMismatch(let page, let stored): "page \(page) has the header of page \(stored)"
      case .unexpectedPageType(let page, let flags):
        "page \(page) has flags 0x\(String(flags, radix: 16)), not a branch or leaf page"
      case .elementsPastPageEnd(let page, let count): "page \(page): \(count) elements do not fit in the page"
      case .elementOutOfBounds(let page, let element):
        "page \(page): element \(element) points outside the page"
      case .badBucketValue(let page, let element): "page \(page): element \(element) is not a valid bucket"
      case .pageReferencedTwice(let page): "page \(page) is referenced twice (cycle or shared page)"
      case .keysOutOfOrder(let page, let element): "page \(page): element \(element) is out of key order"
      case .tooDeep(let limit): "trees and buckets nest deeper than \(limit) levels"
      case .changedWhileReading(let attempts): "file kept changing while being read (\(attempts) attempts)"
      case .unexpectedContent(let text): text
      }
    }
  }

  /// What is wrong with one of the two meta pages.
  public enum MetaProblem: Sendable, Equatable, CustomStringConvertible {
    /// The file ends before the meta page does.
    case missing
    case badMagic(UInt32)
    case badVersion(UInt32)
    /// Not a power of two in the range this reader accepts, or not the size the page was found at.
    case badPageSize(UInt32)
    case badChecksum(stored: UInt64, computed: UInt64)

    public var description: String {
      switch self {
      case .missing: "file too short"
      case .badMagic(let magic): "bad magic 0x\(String(magic, radix: 16)) (bbolt's is 0xed0cdaed)"
      case .badVersion(let version): "version \(version) (only 2 is known)"
      case .badPageSize(let size): "unusable page size \(size)"
      case .badChecksum(let stored, let computed):
        "checksum 0x\(String(stored, radix: 16)) does not match 0x\(String(computed, radix: 16))"
      }
    }
  }

  /// The database file the error is about.
  public let path: String
  public let kind: Kind

  public init(path: String, kind: Kind) {
    self.path = path
    self.kind = kind
  }

  /// One line, starting with the file name. Control characters are escaped because names in the message (the path,
  /// network names read from the file) are not ours to trust.
  public var description: String {
    var line = ""
    for scalar in "\(path): \(kind)".unicodeScalars {
      if scalar.value < 0x20 || scalar.value == 0x7F {
        line += scalar.escaped(asASCII: true)
      } else {
        line.unicodeScalars.append(scalar)
      }
    }
    return line
  }

  /// True when the file does not exist, which a caller usually treats as an empty database.
  public var isFileMissing: Bool { kind == .cannotOpen(errno: ENOENT) }
}

private func errorText(_ code: Int32) -> String {
  guard let text = strerror(code) else { return "errno \(code)" }
  return "\(String(cString: text)) (errno \(code))"
}
