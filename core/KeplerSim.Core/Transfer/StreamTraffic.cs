using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Transfer;

/// <summary>
/// What an exchange on a stream connection is for: the request that opened it (docs/BENCHMARKS.md, "Bytes between
/// nodes"). Every frame of the exchange, the replies and data frames included, counts under its request's kind.
/// </summary>
public enum StreamTrafficKind
{
    /// <summary>Frames before any request (none in the protocol as it is; kept so nothing goes uncounted).</summary>
    Other,

    /// <summary><c>StoreChunkRequest</c>: client writes, replication, repair, rebalance and hand-off.</summary>
    ChunkStore,

    /// <summary><c>FetchChunkRequest</c>: reads from remote owners, read and scrub repair, restores.</summary>
    ChunkFetch,

    /// <summary><c>PutManifestRequest</c>: a new version or tombstone pushed by the node that accepted it.</summary>
    ManifestPut,

    /// <summary><c>GetManifestRequest</c>: a read of a path this node has no version of.</summary>
    ManifestGet,

    /// <summary><c>SyncRequest</c>: a manifest anti-entropy round (digest, differing versions, push back).</summary>
    AntiEntropy,

    /// <summary><c>AbandonChunksRequest</c>: an aborted write's claims.</summary>
    Abandon,

    /// <summary>SWIM's own streams: push-pull state exchanges and the TCP fallback probe.</summary>
    Swim,

    /// <summary><c>OfferChunksRequest</c>: the repair scan's batched offers (a page of chunk ids per owner).</summary>
    RepairOffer,
}

/// <summary>
/// Stream bytes and frames this node sent, by <see cref="StreamTrafficKind"/>. Counted above the cluster key's
/// sealing, so a frame counts its plain bytes: the tags and handshakes the key adds are the difference to what the
/// transport carried. Observes only.
/// </summary>
public sealed class StreamTrafficCounts
{
    private readonly long[] _bytes = new long[Kinds.Count];
    private readonly long[] _frames = new long[Kinds.Count];

    /// <summary>Every kind, in declaration order.</summary>
    public static IReadOnlyList<StreamTrafficKind> Kinds { get; } = Enum.GetValues<StreamTrafficKind>();

    /// <summary>Plain frame bytes sent for <paramref name="kind"/>.</summary>
    public long BytesSent(StreamTrafficKind kind) => _bytes[(int)kind];

    /// <summary>Frames sent for <paramref name="kind"/>.</summary>
    public long FramesSent(StreamTrafficKind kind) => _frames[(int)kind];

    /// <summary>The metric name of <paramref name="kind"/>: <c>chunk_store</c>, <c>anti_entropy</c>, ….</summary>
    public static string NameOf(StreamTrafficKind kind) => kind switch
    {
        StreamTrafficKind.ChunkStore => "chunk_store",
        StreamTrafficKind.ChunkFetch => "chunk_fetch",
        StreamTrafficKind.ManifestPut => "manifest_put",
        StreamTrafficKind.ManifestGet => "manifest_get",
        StreamTrafficKind.AntiEntropy => "anti_entropy",
        StreamTrafficKind.Abandon => "abandon",
        StreamTrafficKind.Swim => "swim",
        StreamTrafficKind.RepairOffer => "repair_offer",
        _ => "other",
    };

    internal void Count(StreamTrafficKind kind, int bytes)
    {
        _bytes[(int)kind] += bytes;
        _frames[(int)kind]++;
    }

    /// <summary>
    /// The kind a frame starts, or null when it continues the exchange under way (a reply or a data frame). A
    /// transfer frame is a MessagePack union, <c>[key, body]</c>: its second byte is the union key
    /// (Protocol/TransferMessages.cs).
    /// </summary>
    internal static StreamTrafficKind? KindStartedBy(ReadOnlySpan<byte> frame)
    {
        if (SwimCodec.IsSwim(frame))
        {
            return StreamTrafficKind.Swim;
        }

        return frame.Length < 2 || frame[0] != 0x92 ? null : frame[1] switch
        {
            0 => StreamTrafficKind.ChunkStore,
            3 => StreamTrafficKind.ChunkFetch,
            5 => StreamTrafficKind.ManifestPut,
            7 => StreamTrafficKind.ManifestGet,
            10 => StreamTrafficKind.AntiEntropy,
            13 => StreamTrafficKind.Abandon,
            15 => StreamTrafficKind.RepairOffer,
            _ => null,
        };
    }
}

/// <summary>
/// A decorator over the node's stream network that counts the frames this node sends by the kind of the exchange
/// they belong to (<see cref="StreamTrafficCounts"/>). The kind is set by the request frame, sent here (the
/// requesting side) or received (the serving side); a connection carries one exchange at a time.
/// </summary>
internal sealed class CountingStreamNetwork(IStreamNetwork inner, StreamTrafficCounts counts) : IStreamNetwork
{
    /// <inheritdoc />
    public NetAddress LocalAddress => inner.LocalAddress;

    /// <inheritdoc />
    public int MaxFrameBytes => inner.MaxFrameBytes;

    /// <inheritdoc />
    public async Task<IStreamConnection> ConnectAsync(NetAddress target, CancellationToken cancellationToken = default)
        => new Connection(await inner.ConnectAsync(target, cancellationToken), counts);

    /// <inheritdoc />
    public void SetAcceptor(Action<IStreamConnection> acceptor)
    {
        ArgumentNullException.ThrowIfNull(acceptor);
        inner.SetAcceptor(raw => acceptor(new Connection(raw, counts)));
    }

    private sealed class Connection(IStreamConnection inner, StreamTrafficCounts counts) : IStreamConnection
    {
        private StreamTrafficKind _kind = StreamTrafficKind.Other;

        public NetAddress Remote => inner.Remote;

        public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
        {
            _kind = StreamTrafficCounts.KindStartedBy(frame.Span) ?? _kind;
            counts.Count(_kind, frame.Length);
            return inner.SendAsync(frame, cancellationToken);
        }

        public Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default)
        {
            var receive = inner.ReceiveAsync(cancellationToken);
            return receive.IsCompletedSuccessfully ? Task.FromResult(Observe(receive.Result)) : ObserveAsync(receive);
        }

        public void Dispose() => inner.Dispose();

        private async Task<ReadOnlyMemory<byte>?> ObserveAsync(Task<ReadOnlyMemory<byte>?> receive) =>
            Observe(await receive);

        private ReadOnlyMemory<byte>? Observe(ReadOnlyMemory<byte>? frame)
        {
            if (frame is { } bytes)
            {
                _kind = StreamTrafficCounts.KindStartedBy(bytes.Span) ?? _kind;
            }

            return frame;
        }
    }
}
