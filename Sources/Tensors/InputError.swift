/// A problem with something the user handed in (a file, a flag's value): the
/// command line prints `description` as one line and exits with code 2.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case unreadable            // cannot open or read the file
        case truncated             // fewer bytes than the format promises
        case badHeader             // header length, JSON, duplicate keys
        case badOffsets            // safetensors data offsets
        case unknownDType          // dtype we do not read
        case shapeMismatch         // a tensor's shape differs from what the spec needs
        case missingTensor         // a tensor the spec needs is absent
        case badSpec               // architecture spec: unknown op, bad field
        case badMetadata           // other metadata keys
        case nonFinite             // NaN or infinity in weights or inputs
        case badNPY                // .npy files
        case badImage              // PNG and other images
        case badArgument           // a value the user typed
        case missingData           // e.g. a direction set that is not in the file
    }

    public let kind: Kind
    /// The file concerned, as the user named it (nil for flags).
    public let file: String?
    /// The offending key (tensor name, metadata key, layer index), if any.
    public let key: String?
    /// What is wrong and, where it helps, what to do.
    public let message: String

    public init(_ kind: Kind, file: String? = nil, key: String? = nil, _ message: String) {
        (self.kind, self.file, self.key, self.message) = (kind, file, key, message)
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let key { parts.append(key) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}
