using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Security;

/// <summary>
/// Gossip under the cluster key: every datagram is sealed with AES-256-GCM under the primary key, and an arriving
/// one is delivered only if it opens under an installed key and passes the replay rule (<see cref="ReplayGuard"/>).
/// Anything else is dropped and counted. A decorator over the runtime's datagram network, so the simulator runs
/// exactly this code. Wire format (docs/PROTOCOL.md): version (1) | key id (4) | nonce (12: incarnation prefix 8,
/// counter 4) | sealed [boot stamp (8) | sent at (8) | sender id length (1) | sender id | payload] | tag (16).
/// </summary>
public sealed class SealedDatagramNetwork : IDatagramNetwork, IDisposable
{
    /// <summary>The wire version of a sealed datagram (a plain SWIM datagram never starts with it).</summary>
    public const byte Version = 0xA1;

    /// <summary>Bytes of the plain header (version, key id, nonce); it is authenticated as associated data.</summary>
    public const int HeaderBytes = 1 + ClusterKeyring.KeyIdBytes + NonceBytes;

    /// <summary>Bytes of the AES-GCM nonce.</summary>
    public const int NonceBytes = 12;

    /// <summary>Bytes of the AES-GCM tag.</summary>
    public const int TagBytes = 16;

    /// <summary>Longest sender id (UTF-8 bytes) a sealed datagram carries.</summary>
    public const int SenderIdBytesMax = 255;

    private const int StampBytes = 16;
    private readonly IDatagramNetwork _inner;
    private readonly ClusterKeyring _keyring;
    private readonly IClock _clock;
    private readonly IRandom _random;
    private readonly AuthCounters _counters;
    private readonly byte[] _senderId;
    private readonly Dictionary<uint, AesGcm[]> _ciphers = [];
    private readonly ReplayGuard _guard = new();
    private Incarnation _incarnation;
    private uint _counter;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="random"/> chooses incarnation prefixes.</summary>
    public SealedDatagramNetwork(IDatagramNetwork inner, ClusterKeyring keyring, NodeId self, IClock clock,
        IRandom random, AuthCounters counters)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(keyring);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(counters);
        _inner = inner;
        _keyring = keyring;
        _clock = clock;
        _random = random;
        _counters = counters;
        _senderId = Encoding.UTF8.GetBytes(self.Value);
        if (_senderId.Length > SenderIdBytesMax)
        {
            throw new ArgumentException($"node id longer than {SenderIdBytesMax} bytes", nameof(self));
        }

        foreach (var group in keyring.Keys.GroupBy(k => k.Id))
        {
            _ciphers[group.Key] = group.Select(k => new AesGcm(k.GossipKey, TagBytes)).ToArray();
        }

        NewIncarnation(long.MinValue);
    }

    /// <summary>Bytes a sealed datagram adds to its payload for a sender id of <paramref name="idBytes"/>.</summary>
    public static int OverheadBytes(int idBytes) => HeaderBytes + StampBytes + 1 + idBytes + TagBytes;

    /// <inheritdoc />
    public NetAddress LocalAddress => _inner.LocalAddress;

    /// <inheritdoc />
    public int MaxDatagramBytes => _inner.MaxDatagramBytes - OverheadBytes(_senderId.Length);

    /// <inheritdoc />
    public void Send(NetAddress target, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxDatagramBytes)
        {
            throw new ArgumentException($"datagram of {payload.Length} bytes exceeds {MaxDatagramBytes}",
                nameof(payload));
        }

        if (_counter == uint.MaxValue)
        {
            NewIncarnation(_incarnation.BootStamp);
        }

        _counter++;
        var plainBytes = StampBytes + 1 + _senderId.Length + payload.Length;
        var wire = new byte[HeaderBytes + plainBytes + TagBytes];
        wire[0] = Version;
        var primary = _keyring.Primary;
        BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(1), primary.Id);
        var nonce = wire.AsSpan(1 + ClusterKeyring.KeyIdBytes, NonceBytes);
        BinaryPrimitives.WriteUInt64BigEndian(nonce, _incarnation.Prefix);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[8..], _counter);
        var plain = new byte[plainBytes];
        BinaryPrimitives.WriteInt64BigEndian(plain, _incarnation.BootStamp);
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(8), _clock.WallMicroseconds);
        plain[StampBytes] = (byte)_senderId.Length;
        _senderId.CopyTo(plain.AsSpan(StampBytes + 1));
        payload.CopyTo(plain.AsSpan(StampBytes + 1 + _senderId.Length));
        _ciphers[primary.Id][PrimaryIndex(primary)].Encrypt(nonce, plain,
            wire.AsSpan(HeaderBytes, plainBytes), wire.AsSpan(HeaderBytes + plainBytes), wire.AsSpan(0, HeaderBytes));
        _inner.Send(target, wire);
    }

    /// <inheritdoc />
    public void SetReceiver(Action<NetAddress, ReadOnlyMemory<byte>> receiver)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        _inner.SetReceiver((from, wire) =>
        {
            if (Open(wire.Span) is { } payload)
            {
                receiver(from, payload);
            }
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var cipher in _ciphers.Values.SelectMany(c => c))
        {
            cipher.Dispose();
        }
    }

    /// <summary>The payload of a sealed datagram, or null (counted) when it must be dropped.</summary>
    private byte[]? Open(ReadOnlySpan<byte> wire)
    {
        if (wire.Length < HeaderBytes + StampBytes + 1 + TagBytes)
        {
            return Drop(wire.Length > 0 && wire[0] != Version ? AuthDropReason.Version : AuthDropReason.Malformed);
        }

        if (wire[0] != Version)
        {
            return Drop(AuthDropReason.Version);
        }

        var plain = Decrypt(wire, out var unknownKey);
        if (plain is null)
        {
            return Drop(unknownKey ? AuthDropReason.UnknownKey : AuthDropReason.Forged);
        }

        var idBytes = plain[StampBytes];
        if (plain.Length < StampBytes + 1 + idBytes)
        {
            return Drop(AuthDropReason.Malformed);
        }

        var nonce = wire.Slice(1 + ClusterKeyring.KeyIdBytes, NonceBytes);
        var incarnation = new Incarnation(BinaryPrimitives.ReadInt64BigEndian(plain),
            BinaryPrimitives.ReadUInt64BigEndian(nonce));
        var sender = Encoding.UTF8.GetString(plain, StampBytes + 1, idBytes);
        var verdict = _guard.Check(sender, incarnation, BinaryPrimitives.ReadUInt32BigEndian(nonce[8..]),
            BinaryPrimitives.ReadInt64BigEndian(plain.AsSpan(8)), _clock.WallMicroseconds,
            _clock.MonotonicMicroseconds);
        return verdict is { } reason ? Drop(reason) : plain[(StampBytes + 1 + idBytes)..];
    }

    private byte[]? Decrypt(ReadOnlySpan<byte> wire, out bool unknownKey)
    {
        var keyId = BinaryPrimitives.ReadUInt32BigEndian(wire[1..]);
        unknownKey = !_ciphers.TryGetValue(keyId, out var ciphers);
        if (ciphers is null)
        {
            return null;
        }

        var sealedBytes = wire.Length - HeaderBytes - TagBytes;
        var plain = new byte[sealedBytes];
        foreach (var cipher in ciphers)
        {
            try
            {
                cipher.Decrypt(wire.Slice(1 + ClusterKeyring.KeyIdBytes, NonceBytes),
                    wire.Slice(HeaderBytes, sealedBytes), wire[^TagBytes..], plain, wire[..HeaderBytes]);
                return plain;
            }
            catch (AuthenticationTagMismatchException)
            {
                // Not this key (two installed keys share an id), or not authentic: try the next.
            }
        }

        return null;
    }

    private byte[]? Drop(AuthDropReason reason)
    {
        _counters.Drop(AuthDropKind.Datagram, reason);
        return null;
    }

    private int PrimaryIndex(ClusterKey primary) =>
        _keyring.Keys.Where(k => k.Id == primary.Id).TakeWhile(k => !ReferenceEquals(k, primary)).Count();

    /// <summary>
    /// Starts this incarnation's numbering with a boot stamp above <paramref name="lastBootStamp"/> (the one the
    /// node persisted at its previous start), so a restart is newer to every receiver even when the wall clock
    /// stepped back. Returns the stamp to persist. Called once at start, before the first send.
    /// </summary>
    public long Begin(long lastBootStamp)
    {
        NewIncarnation(lastBootStamp);
        return _incarnation.BootStamp;
    }

    /// <summary>Starts a new numbering: a new random prefix, a boot stamp later than the last one.</summary>
    private void NewIncarnation(long previousStamp)
    {
        var stamp = previousStamp == long.MinValue
            ? _clock.WallMicroseconds
            : Math.Max(_clock.WallMicroseconds, previousStamp + 1);
        _incarnation = new Incarnation(stamp, _random.NextUInt64());
        _counter = 0;
    }
}
