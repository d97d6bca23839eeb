/// The stored key material as one consistent read: every data-key version and the index key.
public struct KeySnapshot: Sendable, Equatable {
    public var dataKeys: [WrappedDataKey]
    public var indexKey: WrappedIndexKey?

    public init(dataKeys: [WrappedDataKey], indexKey: WrappedIndexKey?) {
        self.dataKeys = dataKeys
        self.indexKey = indexKey
    }

    public var activeVersion: Int? { dataKeys.first { $0.state == .active }?.version }
    public var isInitialised: Bool { indexKey != nil && activeVersion != nil }
}
