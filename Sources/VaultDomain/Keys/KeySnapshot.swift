/// The stored key material as one consistent read: every data-key version, the index key and
/// the seal that holds the master key.
public struct KeySnapshot: Sendable, Equatable {
    public var dataKeys: [WrappedDataKey]
    public var indexKey: WrappedIndexKey?
    public var seal: SealDescriptor

    public init(dataKeys: [WrappedDataKey], indexKey: WrappedIndexKey?, seal: SealDescriptor = .file) {
        self.dataKeys = dataKeys
        self.indexKey = indexKey
        self.seal = seal
    }

    public var activeVersion: Int? { dataKeys.first { $0.state == .active }?.version }
    public var isInitialised: Bool { indexKey != nil && activeVersion != nil }
}
