/// Generates secrets from the system CSPRNG (`SystemRandomNumberGenerator` reads getrandom(2) on Linux and
/// arc4random on Apple platforms) over the URL-safe base64 alphabet.
public struct SecretGenerator: Sendable {
    public static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    public init() {}

    /// `prefix` followed by `length` random characters. The alphabet has 64 symbols, so taking the low
    /// six bits of each random byte is unbiased.
    public func generate(length: Int, prefix: String = "") -> String {
        var generator = SystemRandomNumberGenerator()
        var result = prefix
        result.reserveCapacity(prefix.count + length)
        for _ in 0..<length {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            result.append(Self.alphabet[Int(byte & 63)])
        }
        return result
    }
}
