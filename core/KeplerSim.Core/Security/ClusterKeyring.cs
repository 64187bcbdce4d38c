using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace KeplerSim.Core.Security;

/// <summary>
/// The cluster key (<c>CLUSTER_KEY</c>): one or more 32-byte secrets. The first (primary) seals everything this
/// node sends; every installed key opens what arrives, so a cluster moves from key A to key B one node at a time
/// (install B as a secondary everywhere, then make it primary, then drop A), as in HashiCorp memberlist's keyring.
/// Each secret is never used directly: HKDF-SHA256 derives one key per purpose (gossip, transfer) and a 4-byte
/// key id a receiver uses as a hint to pick the key without trying them all.
/// </summary>
public sealed class ClusterKeyring
{
    /// <summary>Bytes of one cluster key (AES-256).</summary>
    public const int KeyBytes = 32;

    /// <summary>Most keys installed at once (a rotation needs two; a few more cover a slow rollout).</summary>
    public const int KeysMax = 8;

    /// <summary>Bytes of a key id on the wire.</summary>
    public const int KeyIdBytes = 4;

    private ClusterKeyring(IReadOnlyList<ClusterKey> keys) => Keys = keys;

    /// <summary>The installed keys, primary first.</summary>
    public IReadOnlyList<ClusterKey> Keys { get; }

    /// <summary>The key that seals what this node sends.</summary>
    public ClusterKey Primary => Keys[0];

    /// <summary>Keys whose id is <paramref name="keyId"/> (almost always one; none for a foreign key).</summary>
    public IEnumerable<ClusterKey> WithId(uint keyId) => Keys.Where(k => k.Id == keyId);

    /// <summary>A keyring of the given secrets, primary first.</summary>
    public static ClusterKeyring Of(params byte[][] secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        if (secrets.Length is 0 or > KeysMax)
        {
            throw new ArgumentException($"a keyring holds 1 to {KeysMax} keys, not {secrets.Length}", nameof(secrets));
        }

        return new ClusterKeyring(secrets.Select(s => new ClusterKey(s)).ToList());
    }

    /// <summary>
    /// Parses <c>CLUSTER_KEY</c>: base64 keys of 32 bytes, comma-separated, primary first. Throws
    /// <see cref="FormatException"/> saying which entry is wrong and why (never echoing the secret).
    /// </summary>
    public static ClusterKeyring Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > KeysMax)
        {
            throw new FormatException($"holds {parts.Length} keys; at most {KeysMax}");
        }

        var secrets = new List<byte[]>();
        for (var i = 0; i < parts.Length; i++)
        {
            var entry = $"key {i + 1} of {parts.Length}";
            if (parts[i].Length == 0)
            {
                throw new FormatException($"{entry} is empty");
            }

            var buffer = new byte[parts[i].Length];
            if (!Convert.TryFromBase64String(parts[i], buffer, out var length))
            {
                throw new FormatException($"{entry} is not base64 (generate one with `openssl rand -base64 32`)");
            }

            if (length != KeyBytes)
            {
                throw new FormatException($"{entry} is {length} bytes; a cluster key is {KeyBytes} bytes");
            }

            secrets.Add(buffer[..length]);
        }

        return Of([.. secrets]);
    }
}

/// <summary>One installed cluster key and the keys HKDF derives from it.</summary>
public sealed class ClusterKey
{
    internal ClusterKey(byte[] secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length != ClusterKeyring.KeyBytes)
        {
            throw new ArgumentException($"a cluster key is {ClusterKeyring.KeyBytes} bytes", nameof(secret));
        }

        GossipKey = Derive(secret, "kepler gossip v1");
        TransferKey = Derive(secret, "kepler transfer v1");
        Id = BinaryPrimitives.ReadUInt32BigEndian(Derive(secret, "kepler key id v1"));
    }

    /// <summary>The key id receivers use as a hint (not secret: it names the key without revealing it).</summary>
    public uint Id { get; }

    /// <summary>AES-256-GCM key of gossip datagrams.</summary>
    internal byte[] GossipKey { get; }

    /// <summary>Input of the per-connection transfer keys (HKDF with both sides' nonces).</summary>
    internal byte[] TransferKey { get; }

    private static byte[] Derive(byte[] secret, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, ClusterKeyring.KeyBytes, salt: [],
            info: Encoding.ASCII.GetBytes(purpose));
}
