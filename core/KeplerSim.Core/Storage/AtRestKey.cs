using System.Security.Cryptography;

namespace KeplerSim.Core.Storage;

/// <summary>
/// The key chunk files are encrypted with at rest (AES-256-GCM; see <see cref="AtRestFormat"/>). The host supplies
/// it (the real node from ENCRYPTION_KEY, the simulator from the scenario) through
/// <see cref="Runtime.NodeRuntime.AtRestKey"/>. Its <see cref="CheckValue"/> (an HMAC of a constant under the key)
/// is stored beside the chunks so that a node started with another key refuses to start instead of taking every
/// chunk for corrupt; its <see cref="Id"/> (the check value's first bytes) is written into every file's header.
/// </summary>
public sealed class AtRestKey
{
    /// <summary>Key length: AES-256.</summary>
    public const int KeySizeBytes = 32;

    /// <summary>Length of <see cref="Id"/>.</summary>
    public const int IdSizeBytes = 8;

    private readonly byte[] _key;
    private readonly byte[] _check;

    /// <summary>Wraps 32 key bytes (copied).</summary>
    public AtRestKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySizeBytes)
        {
            throw new ArgumentException($"an at-rest key is {KeySizeBytes} bytes, not {key.Length}", nameof(key));
        }

        _key = key.ToArray();
        _check = HMACSHA256.HashData(_key, "KeplerFS at-rest key check v1"u8);
    }

    /// <summary>HMAC-SHA256 of a fixed constant under the key: proves which key a store was written with.</summary>
    public ReadOnlySpan<byte> CheckValue => _check;

    /// <summary>The key's id: the first <see cref="IdSizeBytes"/> bytes of <see cref="CheckValue"/>.</summary>
    public ReadOnlySpan<byte> Id => _check.AsSpan(0, IdSizeBytes);

    /// <summary>The key's id as lowercase hex (safe to log: it reveals nothing of the key).</summary>
    public string IdHex => Convert.ToHexStringLower(Id);

    /// <summary>
    /// Parses a base64 key of exactly 32 bytes; throws <see cref="FormatException"/> saying what is wrong (the
    /// message never echoes the text, which is a secret).
    /// </summary>
    public static AtRestKey FromBase64(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = new byte[KeySizeBytes + 3];
        if (!Convert.TryFromBase64String(text.Trim(), bytes, out var written))
        {
            throw new FormatException($"not base64 of {KeySizeBytes} bytes (make one with 'openssl rand -base64 32')");
        }

        if (written != KeySizeBytes)
        {
            throw new FormatException($"{written} bytes: expected {KeySizeBytes} (make one with " +
                "'openssl rand -base64 32')");
        }

        return new AtRestKey(bytes.AsSpan(0, KeySizeBytes));
    }

    /// <summary>A fresh cipher over the key: one per file operation, never shared across threads.</summary>
    internal AesGcm CreateCipher() => new(_key, AtRestFormat.TagSizeBytes);
}
