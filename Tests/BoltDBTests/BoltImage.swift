/// Builds bbolt files byte by byte, the way bbolt lays them out, so the reader can be tested without Go or Podman.
///
/// Pages are numbered as bbolt does: 0 and 1 are the meta pages, 2 the (empty) freelist, tree pages from 3 on.
struct BoltImage {
  /// One key of a leaf: a plain value, or a nested bucket given as its bucket value (``BoltImage/inlineBucket(_:)``
  /// or ``BoltImage/bucketHeader(root:sequence:)``).
  struct Element {
    var key: [UInt8]
    var value: [UInt8]
    var isBucket = false

    static func value(_ key: String, _ value: String) -> Element { Element(key: bytes(key), value: bytes(value)) }
    static func value(_ key: [UInt8], _ value: [UInt8]) -> Element { Element(key: key, value: value) }
    static func bucket(_ key: String, _ value: [UInt8]) -> Element {
      Element(key: bytes(key), value: value, isBucket: true)
    }
  }

  var pageSize: Int
  /// Tree pages from page 3 on, each already `pageSize × (1 + overflow)` bytes long.
  var treePages: [[UInt8]] = []
  var root: UInt64 = 3
  var transactionIDs: (UInt64, UInt64) = (2, 3)

  init(pageSize: Int = 4096) {
    self.pageSize = pageSize
  }

  /// The id the next added tree page gets.
  var nextPage: UInt64 { 3 + UInt64(treePages.reduce(0) { $0 + $1.count / pageSize }) }

  mutating func addLeaf(_ elements: [Element], sorted: Bool = true) -> UInt64 {
    let id = nextPage
    treePages.append(Self.page(id: id, flags: 0x02, elements: leafTable(elements, sorted: sorted), size: pageSize))
    return id
  }

  mutating func addBranch(_ children: [(key: String, page: UInt64)]) -> UInt64 {
    let id = nextPage
    let table = children.map { child in
      (header: le(0, 4) + le(UInt64(child.key.utf8.count), 4) + le(child.page, 8), data: Self.bytes(child.key))
    }
    treePages.append(Self.page(id: id, flags: 0x01, elements: table, size: pageSize))
    return id
  }

  /// The whole file: both meta pages (meta 1 holds the newer transaction), the freelist and the tree pages.
  func bytes() -> [UInt8] {
    let pageCount = nextPage
    var file = Self.meta(pageSize: pageSize, id: 0, transactionID: transactionIDs.0, root: root, pageCount: pageCount)
    file += Self.meta(pageSize: pageSize, id: 1, transactionID: transactionIDs.1, root: root, pageCount: pageCount)
    file += Self.page(id: 2, flags: 0x10, elements: [], size: pageSize)
    for page in treePages { file += page }
    return file
  }

  // MARK: Pieces

  static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

  /// A bucket value whose tree is in a page of its own.
  static func bucketHeader(root: UInt64, sequence: UInt64 = 0) -> [UInt8] { le(root, 8) + le(sequence, 8) }

  /// A bucket value with root 0 and its leaf page inline, as bbolt stores small buckets.
  static func inlineBucket(_ elements: [Element], sequence: UInt64 = 0, sorted: Bool = true) -> [UInt8] {
    let table = leafTable(elements, sorted: sorted)
    let size = pageHeaderSize + table.reduce(0) { $0 + $1.header.count + $1.data.count }
    return bucketHeader(root: 0, sequence: sequence) + page(id: 0, flags: 0x02, elements: table, size: size)
  }

  static func meta(pageSize: Int, id: UInt64, transactionID: UInt64, root: UInt64, pageCount: UInt64) -> [UInt8] {
    var fields = le(0xED0C_DAED, 4) + le(2, 4) + le(UInt64(pageSize), 4) + le(0, 4)
    fields += le(root, 8) + le(0, 8) + le(2, 8) + le(pageCount, 8) + le(transactionID, 8)
    fields += le(fnv1a64(fields), 8)
    var page = le(id, 8) + le(0x04, 2) + le(0, 2) + le(0, 4) + fields
    page += [UInt8](repeating: 0, count: pageSize - page.count)
    return page
  }

  /// Rewrites the checksum of the meta page at `offset` after a test changed its fields.
  static func resealMeta(_ file: inout [UInt8], at offset: Int) {
    let start = offset + pageHeaderSize
    let sum = le(fnv1a64(Array(file[start..<start + 56])), 8)
    file.replaceSubrange(start + 56..<start + 64, with: sum)
  }

  static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
    }
    return hash
  }

  static func put(_ value: UInt64, width: Int, at offset: Int, in file: inout [UInt8]) {
    file.replaceSubrange(offset..<offset + width, with: le(value, width))
  }

  static let pageHeaderSize = 16

  /// A page: header, element table, then keys and values in element order, each `pos` relative to its element.
  /// Padded to whole pages; when the content is longer than one page the header counts the overflow pages.
  private static func page(id: UInt64, flags: UInt16, elements: [(header: [UInt8], data: [UInt8])], size: Int)
    -> [UInt8]
  {
    let tableEnd = pageHeaderSize + elements.count * 16
    var table: [UInt8] = []
    var data: [UInt8] = []
    for (index, element) in elements.enumerated() {
      let position = tableEnd + data.count - (pageHeaderSize + index * 16)
      var header = element.header
      // Leaf elements keep pos at byte 4, branch elements at byte 0.
      let positionOffset = flags == 0x01 ? 0 : 4
      header.replaceSubrange(positionOffset..<positionOffset + 4, with: le(UInt64(position), 4))
      table += header
      data += element.data
    }
    let used = tableEnd + data.count
    let pages = max(1, (used + size - 1) / size)
    var page = le(id, 8) + le(UInt64(flags), 2) + le(UInt64(elements.count), 2) + le(UInt64(pages - 1), 4)
    page += table + data
    page += [UInt8](repeating: 0, count: pages * size - page.count)
    return page
  }

  private static func leafTable(_ elements: [Element], sorted: Bool) -> [(header: [UInt8], data: [UInt8])] {
    let ordered = sorted ? elements.sorted { $0.key.lexicographicallyPrecedes($1.key) } : elements
    return ordered.map { element in
      let header =
        le(element.isBucket ? 1 : 0, 4) + le(0, 4) + le(UInt64(element.key.count), 4)
        + le(UInt64(element.value.count), 4)
      return (header, element.key + element.value)
    }
  }

  private func leafTable(_ elements: [Element], sorted: Bool) -> [(header: [UInt8], data: [UInt8])] {
    Self.leafTable(elements, sorted: sorted)
  }
}

/// `value` as `width` little-endian bytes.
func le(_ value: UInt64, _ width: Int) -> [UInt8] {
  (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}
