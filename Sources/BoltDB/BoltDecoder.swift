#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Constants of bbolt's file format (go.etcd.io/bbolt: page.go, db.go, bucket.go), little-endian throughout.
enum BoltLayout {
  static let magic: UInt32 = 0xED0C_DAED
  static let version: UInt32 = 2
  /// id u64, flags u16, count u16, overflow u32.
  static let pageHeaderSize = 16
  /// Branch elements (pos, ksize, pgid) and leaf elements (flags, pos, ksize, vsize) are both 16 bytes.
  static let elementSize = 16
  /// magic, version, pageSize, flags, root bucket (pgid, sequence), freelist, pgid, txid: what the checksum covers.
  static let checksummedMetaSize = 56
  static let metaSize = 64
  /// A nested bucket's value starts with its root page id and sequence; root 0 means an inline page follows.
  static let bucketHeaderSize = 16
  static let branchPageFlag: UInt16 = 0x01
  static let leafPageFlag: UInt16 = 0x02
  static let bucketLeafFlag: UInt32 = 0x01
  /// bbolt uses the OS page size, always a power of two; the bounds keep a garbage size from being used as a
  /// multiplier while still covering 4 KiB (x86), 16 KiB (Apple and some arm64) and 64 KiB (ppc64le) pages.
  static let pageSizes = 512...(1 << 20)
  /// Real trees are a handful of levels deep and buckets rarely nest more than a few times; the limit keeps a hostile
  /// file from exhausting the stack of the recursive walk.
  static let maximumDepth = 100
}

/// The fields of a meta page this reader uses.
struct BoltMeta: Equatable {
  var pageSize: Int
  var root: UInt64
  var sequence: UInt64
  /// The high-water mark: pages 0..<pageCount exist in the file.
  var pageCount: UInt64
  var transactionID: UInt64
}

/// A byte range of the file that reads must stay inside, and the page to name when they do not.
struct BoltRegion {
  var lower: Int
  var upper: Int
  var page: UInt64
}

/// Turns the bytes of a whole bbolt file into buckets, checking every id, count and offset before it is used.
struct BoltDecoder {
  typealias Kind = BoltError.Kind

  let bytes: [UInt8]
  let meta: BoltMeta
  /// Every page reached so far: a sound file reaches each page once, so a second visit means a cycle or shared pages.
  private var visited: Set<UInt64> = []

  init(bytes: [UInt8]) throws(Kind) {
    self.bytes = bytes
    meta = try Self.chooseMeta(bytes)
    let (needed, overflow) = meta.pageCount.multipliedReportingOverflow(by: UInt64(meta.pageSize))
    guard !overflow, needed <= UInt64(bytes.count) else {
      throw .truncated(size: bytes.count, needed: overflow ? UInt64.max : needed)
    }
  }

  mutating func decodeRoot() throws(Kind) -> BoltFile.Bucket {
    try bucket(root: meta.root, sequence: meta.sequence, depth: 0)
  }

  // MARK: Meta pages

  /// bbolt alternates commits between meta pages 0 and 1; the valid one with the higher transaction id is current,
  /// and the other survives a torn write of it.
  static func chooseMeta(_ bytes: [UInt8]) throws(Kind) -> BoltMeta {
    let first = parseMeta(bytes, offset: 0, foundAt: nil)
    // Meta page 1 sits one page in, but the page size is written inside the meta pages: when page 0 is damaged,
    // try the size it claims, then the OS page size bbolt would have used, then every other usable size.
    var sizes: [Int] = []
    if case .valid(let meta) = first {
      sizes.append(meta.pageSize)
    } else if bytes.count >= BoltLayout.pageHeaderSize + 12 {
      let claimed = Int(readLittleEndian(bytes, BoltLayout.pageHeaderSize + 8, width: 4))
      if isUsablePageSize(claimed) { sizes.append(claimed) }
    }
    let powersOfTwo = (0..<Int.bitWidth - 1).map { 1 << $0 }.filter(isUsablePageSize)
    for size in [Int(getpagesize())] + powersOfTwo where !sizes.contains(size) {
      sizes.append(size)
    }
    var second = MetaResult.invalid(.missing)
    for (index, size) in sizes.enumerated() {
      let candidate = parseMeta(bytes, offset: size, foundAt: size)
      if case .valid = candidate {
        second = candidate
        break
      }
      if index == 0 { second = candidate }
    }
    switch (first, second) {
    case (.valid(let a), .valid(let b)): return b.transactionID > a.transactionID ? b : a
    case (.valid(let a), .invalid): return a
    case (.invalid, .valid(let b)): return b
    case (.invalid(let a), .invalid(let b)): throw .noValidMeta(first: a, second: b)
    }
  }

  /// One meta page's fields, or why they cannot be used (kept for the error when neither meta page can).
  enum MetaResult {
    case valid(BoltMeta)
    case invalid(BoltError.MetaProblem)
  }

  static func parseMeta(_ bytes: [UInt8], offset: Int, foundAt pageSize: Int?) -> MetaResult {
    let start = offset + BoltLayout.pageHeaderSize
    guard offset >= 0, start + BoltLayout.metaSize <= bytes.count else { return .invalid(.missing) }
    func field(_ at: Int, _ width: Int) -> UInt64 { readLittleEndian(bytes, start + at, width: width) }
    let magic = UInt32(field(0, 4))
    guard magic == BoltLayout.magic else { return .invalid(.badMagic(magic)) }
    let version = UInt32(field(4, 4))
    guard version == BoltLayout.version else { return .invalid(.badVersion(version)) }
    let stored = field(BoltLayout.checksummedMetaSize, 8)
    let computed = fnv1a64(bytes[start..<start + BoltLayout.checksummedMetaSize])
    guard stored == computed else { return .invalid(.badChecksum(stored: stored, computed: computed)) }
    let size = UInt32(field(8, 4))
    guard isUsablePageSize(Int(size)), pageSize == nil || pageSize == Int(size) else {
      return .invalid(.badPageSize(size))
    }
    return .valid(
      BoltMeta(
        pageSize: Int(size), root: field(16, 8), sequence: field(24, 8), pageCount: field(40, 8),
        transactionID: field(48, 8)))
  }

  static func isUsablePageSize(_ size: Int) -> Bool {
    BoltLayout.pageSizes.contains(size) && size & (size - 1) == 0
  }

  // MARK: Pages

  /// The bytes of a branch or leaf page (with its overflow pages) after checking that the page exists, names itself,
  /// and has not been reached before.
  private mutating func page(_ id: UInt64) throws(Kind) -> (region: BoltRegion, flags: UInt16, count: Int) {
    guard id >= 2, id < meta.pageCount else { throw .pageOutOfRange(page: id, pageCount: meta.pageCount) }
    // In range of Int: the initializer checked pageCount × pageSize against the file's length.
    let start = Int(id) * meta.pageSize
    let header = BoltRegion(lower: start, upper: start + meta.pageSize, page: id)
    let short = Kind.truncated(size: bytes.count, needed: UInt64(start + meta.pageSize))
    let stored = try read(start, width: 8, in: header, orThrow: short)
    guard stored == id else { throw .pageIDMismatch(page: id, stored: stored) }
    let flags = UInt16(try read(start + 8, width: 2, in: header, orThrow: short))
    let count = Int(try read(start + 10, width: 2, in: header, orThrow: short))
    let overflow = try read(start + 12, width: 4, in: header, orThrow: short)
    let last = id + overflow
    guard last < meta.pageCount else { throw .pageOutOfRange(page: last, pageCount: meta.pageCount) }
    for covered in id...last where !visited.insert(covered).inserted {
      throw .pageReferencedTwice(page: covered)
    }
    guard flags == BoltLayout.branchPageFlag || flags == BoltLayout.leafPageFlag else {
      throw .unexpectedPageType(page: id, flags: flags)
    }
    return (BoltRegion(lower: start, upper: start + Int(overflow + 1) * meta.pageSize, page: id), flags, count)
  }

  /// A little-endian integer inside `region` (and the file), or `failure` when it would reach outside.
  private func read(_ offset: Int, width: Int, in region: BoltRegion, orThrow failure: Kind) throws(Kind) -> UInt64 {
    guard offset >= region.lower, offset <= min(region.upper, bytes.count) - width else { throw failure }
    return readLittleEndian(bytes, offset, width: width)
  }

  // MARK: Trees

  private mutating func bucket(root: UInt64, sequence: UInt64, depth: Int) throws(Kind) -> BoltFile.Bucket {
    var entries: [BoltFile.Bucket.Entry] = []
    try collect(page: root, into: &entries, depth: depth)
    return BoltFile.Bucket(sequence: sequence, entries: entries)
  }

  /// Appends the leaf entries under `id`, in key order.
  private mutating func collect(page id: UInt64, into entries: inout [BoltFile.Bucket.Entry], depth: Int) throws(Kind) {
    guard depth < BoltLayout.maximumDepth else { throw .tooDeep(limit: BoltLayout.maximumDepth) }
    let (region, flags, count) = try page(id)
    try checkElementTable(region, count: count)
    guard flags == BoltLayout.branchPageFlag else {
      try collectLeaf(region, count: count, into: &entries, depth: depth)
      return
    }
    for index in 0..<count {
      let element = region.lower + BoltLayout.pageHeaderSize + index * BoltLayout.elementSize
      let outside = Kind.elementOutOfBounds(page: id, element: index)
      let position = Int(try read(element, width: 4, in: region, orThrow: outside))
      let keySize = Int(try read(element + 4, width: 4, in: region, orThrow: outside))
      let child = try read(element + 8, width: 8, in: region, orThrow: outside)
      // The separator key is not needed to list the tree, but one pointing outside the page means damage.
      guard element + position + keySize <= region.upper else { throw outside }
      try collect(page: child, into: &entries, depth: depth + 1)
    }
  }

  private func checkElementTable(_ region: BoltRegion, count: Int) throws(Kind) {
    let tableEnd = region.lower + BoltLayout.pageHeaderSize + count * BoltLayout.elementSize
    guard tableEnd <= region.upper else { throw .elementsPastPageEnd(page: region.page, count: count) }
  }

  /// Leaf elements of a page or of an inline bucket's page; a nested bucket becomes a bucket entry.
  private mutating func collectLeaf(
    _ region: BoltRegion, count: Int, into entries: inout [BoltFile.Bucket.Entry], depth: Int
  ) throws(Kind) {
    for index in 0..<count {
      let element = region.lower + BoltLayout.pageHeaderSize + index * BoltLayout.elementSize
      let outside = Kind.elementOutOfBounds(page: region.page, element: index)
      let flags = UInt32(try read(element, width: 4, in: region, orThrow: outside))
      let position = Int(try read(element + 4, width: 4, in: region, orThrow: outside))
      let keySize = Int(try read(element + 8, width: 4, in: region, orThrow: outside))
      let valueSize = Int(try read(element + 12, width: 4, in: region, orThrow: outside))
      let keyStart = element + position
      let valueStart = keyStart + keySize
      let valueEnd = valueStart + valueSize
      guard valueEnd <= region.upper, valueEnd <= bytes.count else { throw outside }
      let key = Array(bytes[keyStart..<valueStart])
      if let previous = entries.last, !previous.key.lexicographicallyPrecedes(key) {
        throw .keysOutOfOrder(page: region.page, element: index)
      }
      if flags & BoltLayout.bucketLeafFlag != 0 {
        let nested = try nestedBucket(
          BoltRegion(lower: valueStart, upper: valueEnd, page: region.page), element: index, depth: depth)
        entries.append(BoltFile.Bucket.Entry(key: key, content: .bucket(nested)))
      } else {
        entries.append(BoltFile.Bucket.Entry(key: key, content: .value(Array(bytes[valueStart..<valueEnd]))))
      }
    }
  }

  /// A bucket stored as a leaf value: a header naming its root page, or root 0 and an inline leaf page.
  private mutating func nestedBucket(_ value: BoltRegion, element: Int, depth: Int) throws(Kind) -> BoltFile.Bucket {
    let invalid = Kind.badBucketValue(page: value.page, element: element)
    let root = try read(value.lower, width: 8, in: value, orThrow: invalid)
    let sequence = try read(value.lower + 8, width: 8, in: value, orThrow: invalid)
    guard root == 0 else { return try bucket(root: root, sequence: sequence, depth: depth + 1) }
    guard depth + 1 < BoltLayout.maximumDepth else { throw .tooDeep(limit: BoltLayout.maximumDepth) }
    // The inline page's own id field is never written (it stays 0), so only its flags and count mean anything.
    let inline = BoltRegion(lower: value.lower + BoltLayout.bucketHeaderSize, upper: value.upper, page: value.page)
    let flags = UInt16(try read(inline.lower + 8, width: 2, in: inline, orThrow: invalid))
    let count = Int(try read(inline.lower + 10, width: 2, in: inline, orThrow: invalid))
    guard flags == BoltLayout.leafPageFlag else { throw invalid }
    let tableEnd = inline.lower + BoltLayout.pageHeaderSize + count * BoltLayout.elementSize
    guard tableEnd <= inline.upper else { throw invalid }
    var entries: [BoltFile.Bucket.Entry] = []
    try collectLeaf(inline, count: count, into: &entries, depth: depth + 1)
    return BoltFile.Bucket(sequence: sequence, entries: entries)
  }
}

/// A little-endian unsigned integer of `width` bytes; callers have checked that it lies inside `bytes`.
func readLittleEndian(_ bytes: [UInt8], _ offset: Int, width: Int) -> UInt64 {
  var value: UInt64 = 0
  for index in (0..<width).reversed() {
    value = value << 8 | UInt64(bytes[offset + index])
  }
  return value
}

/// FNV-1a, 64 bits: what bbolt stores as a meta page's checksum (Go's hash/fnv New64a).
func fnv1a64(_ bytes: ArraySlice<UInt8>) -> UInt64 {
  var hash: UInt64 = 0xCBF2_9CE4_8422_2325
  for byte in bytes {
    hash ^= UInt64(byte)
    hash &*= 0x0000_0100_0000_01B3
  }
  return hash
}
