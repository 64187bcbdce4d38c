using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace KeplerSim.Core.Storage;

/// <summary>
/// The name of a chunk: the SHA-256 of its bytes as 64 lowercase hex characters. Ordered ordinally, so sorting by
/// id is the same on every node. <c>default(ChunkId)</c> is not a valid id (<see cref="IsDefault"/>); every other
/// value was validated by <see cref="Parse"/>, <c>TryParse</c>, <see cref="FromContent"/> or
/// <see cref="FromDigest"/>.
/// </summary>
public readonly record struct ChunkId : IComparable<ChunkId>
{
    /// <summary>Length of the hex form: two characters per SHA-256 byte.</summary>
    public const int HexLength = 64;

    /// <summary>Length of the raw SHA-256 digest.</summary>
    public const int DigestBytes = 32;

    private ChunkId(string hex) => Hex = hex;

    /// <summary>The 64 lowercase hex characters (null only for <c>default(ChunkId)</c>).</summary>
    public string Hex { get; }

    /// <summary>True for <c>default(ChunkId)</c>, which names no chunk.</summary>
    public bool IsDefault => Hex is null;

    /// <summary>The id of <paramref name="content"/>: SHA-256 of the bytes.</summary>
    public static ChunkId FromContent(ReadOnlySpan<byte> content)
    {
        Span<byte> digest = stackalloc byte[DigestBytes];
        SHA256.HashData(content, digest);
        return FromDigest(digest);
    }

    /// <summary>The id whose raw digest is <paramref name="digest"/> (exactly 32 bytes).</summary>
    /// <exception cref="FormatException">The digest is not 32 bytes long.</exception>
    public static ChunkId FromDigest(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != DigestBytes)
        {
            throw new FormatException($"a chunk digest is {DigestBytes} bytes, got {digest.Length}");
        }

        return new ChunkId(Convert.ToHexStringLower(digest));
    }

    /// <summary>Parses 64 lowercase hex characters; anything else is a <see cref="FormatException"/>.</summary>
    public static ChunkId Parse(string text)
    {
        if (!TryParse(text, out var id, out var error))
        {
            throw new FormatException(error);
        }

        return id;
    }

    /// <summary>Parses 64 lowercase hex characters; returns false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out ChunkId id) => TryParse(text, out id, out _);

    /// <summary>Parses 64 lowercase hex characters; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(
        [NotNullWhen(true)] string? text, out ChunkId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        error = Validate(text);
        if (error is not null)
        {
            return false;
        }

        id = new ChunkId(text!);
        return true;
    }

    /// <summary>Writes the 32-byte raw digest into <paramref name="destination"/>.</summary>
    public void WriteDigest(Span<byte> destination)
    {
        Invariant.That(!IsDefault, "default(ChunkId) has no digest");
        Invariant.That(destination.Length >= DigestBytes, "digest destination is shorter than 32 bytes");
        var status = Convert.FromHexString(Hex, destination[..DigestBytes], out _, out var written);
        Invariant.That(status == System.Buffers.OperationStatus.Done, "a validated chunk id failed to decode");
        Invariant.That(written == DigestBytes, "a validated chunk id decoded to the wrong length");
    }

    /// <inheritdoc />
    public int CompareTo(ChunkId other) => string.CompareOrdinal(Hex, other.Hex);

    /// <summary>The hex form (empty for <c>default(ChunkId)</c>).</summary>
    public override string ToString() => Hex ?? string.Empty;

    private static string? Validate(string? text)
    {
        if (text is null)
        {
            return "chunk id is missing (null)";
        }

        if (text.Length != HexLength)
        {
            return $"chunk id has {text.Length} characters; expected {HexLength} lowercase hex characters";
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return $"chunk id has '{(char.IsControl(c) ? '?' : c)}' (U+{(int)c:X4}) at index {i}; "
                    + "expected lowercase hex 0-9a-f";
            }
        }

        return null;
    }
}
