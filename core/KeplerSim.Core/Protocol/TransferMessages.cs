using MessagePack;

namespace KeplerSim.Core.Protocol;

/// <summary>
/// A frame on a transfer (stream) connection. One request per connection: the initiator sends a request frame
/// (plus data frames for a store), the acceptor answers. Union keys and member keys are the wire contract:
/// never renumber, only add.
/// </summary>
[Union(0, typeof(StoreChunkRequest))]
[Union(1, typeof(ChunkDataFrame))]
[Union(2, typeof(StoreChunkReply))]
[Union(3, typeof(FetchChunkRequest))]
[Union(4, typeof(FetchChunkReply))]
[Union(5, typeof(PutManifestRequest))]
[Union(6, typeof(PutManifestReply))]
[Union(7, typeof(GetManifestRequest))]
[Union(8, typeof(GetManifestReply))]
[Union(9, typeof(StoreChunkReady))]
[Union(10, typeof(SyncRequest))]
[Union(11, typeof(SyncReply))]
[Union(12, typeof(SyncPush))]
[Union(13, typeof(AbandonChunksRequest))]
[Union(14, typeof(AbandonChunksReply))]
[Union(15, typeof(OfferChunksRequest))]
[Union(16, typeof(OfferChunksReply))]
public abstract record TransferFrame;

/// <summary>
/// Offer a chunk of <see cref="SizeBytes"/> bytes. The receiver answers <see cref="StoreChunkReply"/> at once if
/// it already holds a durable verified copy (or is busy receiving it from someone else), else
/// <see cref="StoreChunkReady"/>, after which the sender streams <see cref="ChunkDataFrame"/>s and gets the final
/// <see cref="StoreChunkReply"/>. The offer keeps repair and rebalance from moving bytes an owner already has.
/// <see cref="RequestId"/> names the client write the copy is for (null: a repair, a rebalance, a hinted handoff):
/// the receiver remembers which writes stored or counted its copy, for orphan collection (docs/PROTOCOL.md).
/// <see cref="Settings"/> are the runtime cluster settings the sender holds (null: none), adopted by the receiver
/// before it records the copy, so a copy sent to an owner under a newer replication factor is never taken for a
/// surplus under an older one.
/// </summary>
[MessagePackObject]
public sealed record StoreChunkRequest(
    [property: Key(0)] string ChunkId,
    [property: Key(1)] long SizeBytes,
    [property: Key(2)] string Sender,
    [property: Key(3)] string? RequestId = null,
    [property: Key(4)] Membership.ClusterSettings? Settings = null) : TransferFrame;

/// <summary>
/// A segment of chunk bytes (on the wire a MessagePack bin, as a <c>byte[]</c> was). Decoded, it is a slice of the
/// received frame, not a copy; sent, it is written from the caller's memory without a copy of its own.
/// </summary>
[MessagePackObject]
public sealed record ChunkDataFrame(
    [property: Key(0), MessagePackFormatter(typeof(SegmentFormatter))] ReadOnlyMemory<byte> Data) : TransferFrame;

/// <summary>
/// The outcome of a store: durable on the receiver, or why not; with the runtime cluster settings the receiver
/// holds (null: none), which the sender adopts before it judges its own copy surplus.
/// </summary>
[MessagePackObject]
public sealed record StoreChunkReply(
    [property: Key(0)] string ChunkId,
    [property: Key(1)] bool Durable,
    [property: Key(2)] string? Error,
    [property: Key(3)] Membership.ClusterSettings? Settings = null) : TransferFrame
{
    /// <summary>
    /// The <see cref="Error"/> of a store refused for now: the chunk is being received from someone else or
    /// deleted, or the receiver is saturated. The sender retries after its backoff.
    /// </summary>
    public const string Busy = "busy";
}

/// <summary>Ask for a chunk's bytes.</summary>
[MessagePackObject]
public sealed record FetchChunkRequest([property: Key(0)] string ChunkId) : TransferFrame;

/// <summary>Whether the chunk is coming (then data frames follow), or why not.</summary>
[MessagePackObject]
public sealed record FetchChunkReply(
    [property: Key(0)] string ChunkId,
    [property: Key(1)] bool Found,
    [property: Key(2)] long SizeBytes,
    [property: Key(3)] string? Error) : TransferFrame;

/// <summary>Record a manifest version (a put or a tombstone).</summary>
[MessagePackObject]
public sealed record PutManifestRequest([property: Key(0)] byte[] Manifest) : TransferFrame;

/// <summary>The manifest is durable in the receiver's metadata (or why not).</summary>
[MessagePackObject]
public sealed record PutManifestReply([property: Key(0)] bool Durable, [property: Key(1)] string? Error)
    : TransferFrame;

/// <summary>Ask for the current version of a path.</summary>
[MessagePackObject]
public sealed record GetManifestRequest([property: Key(0)] string Path) : TransferFrame;

/// <summary>The current version of the path (null manifest if unknown).</summary>
[MessagePackObject]
public sealed record GetManifestReply([property: Key(0)] byte[]? Manifest) : TransferFrame;

/// <summary>The receiver lacks the offered chunk: send its bytes.</summary>
[MessagePackObject]
public sealed record StoreChunkReady([property: Key(0)] string ChunkId) : TransferFrame;

/// <summary>
/// Anti-entropy: the initiator's digest of its manifest versions, one hash per bucket of paths; or, to open a round,
/// only the <see cref="Summary"/> of that digest with no bucket hashes (docs/PROTOCOL.md, "Anti-entropy").
/// <see cref="From"/> names the initiator on the full digest, so the responder can queue for it the chunks of the
/// versions it turns out to lack (absent from older nodes: the responder then offers nothing).
/// </summary>
[MessagePackObject]
public sealed record SyncRequest(
    [property: Key(0)] ulong[] BucketHashes,
    [property: Key(1)] ulong? Summary = null,
    [property: Key(2)] string? From = null) : TransferFrame;

/// <summary>
/// The buckets that differ, and the responder's versions in (some of) them. To a summary: nothing, when the
/// digests agree, else <see cref="DigestWanted"/> (the initiator sends its full digest next).
/// </summary>
[MessagePackObject]
public sealed record SyncReply(
    [property: Key(0)] int[] Buckets,
    [property: Key(1)] byte[][] Manifests,
    [property: Key(2)] bool DigestWanted = false) : TransferFrame;

/// <summary>The initiator's versions in the differing buckets.</summary>
[MessagePackObject]
public sealed record SyncPush([property: Key(0)] byte[][] Manifests) : TransferFrame;

/// <summary>
/// The write <see cref="RequestId"/> was abandoned before any manifest of it existed: its claims on these chunks
/// end (orphan collection, docs/PROTOCOL.md). At most <see cref="ChunkIdsMax"/> ids.
/// </summary>
[MessagePackObject]
public sealed record AbandonChunksRequest(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string[] ChunkIds) : TransferFrame
{
    /// <summary>Chunk ids one request names at most.</summary>
    public const int ChunkIdsMax = 1024;
}

/// <summary>The abandonment was applied.</summary>
[MessagePackObject]
public sealed record AbandonChunksReply([property: Key(0)] bool Applied) : TransferFrame;

/// <summary>One chunk of an <see cref="OfferChunksRequest"/>: its id and the size of the sender's copy.</summary>
[MessagePackObject]
public sealed record ChunkOffer(
    [property: Key(0)] string ChunkId,
    [property: Key(1)] long SizeBytes);

/// <summary>
/// The repair scan's batched offer (docs/PROTOCOL.md, "Batched repair offers"): "which of these chunks do you lack?"
/// Each chunk is answered as a <see cref="StoreChunkRequest"/> without a request id would be before any bytes move
/// (held: durable here, on record or verified; else lacking), and a held chunk has the same effects on the receiver
/// as that offer answered "durable" (recorded if it was not, claims of writes ended). Lacking chunks (and chunks the
/// receiver is busy with) are then offered one by one through the sender's replication queue. At most
/// <see cref="ChunksMax"/> chunks, ids strictly ascending (ordinal). <see cref="Settings"/> as on a store.
/// </summary>
[MessagePackObject]
public sealed record OfferChunksRequest(
    [property: Key(0)] ChunkOffer[] Chunks,
    [property: Key(1)] Membership.ClusterSettings? Settings = null) : TransferFrame
{
    /// <summary>Chunks one offer names at most (the repair scan's page).</summary>
    public const int ChunksMax = 256;

    /// <summary>Encoded bytes one <see cref="ChunkOffer"/> takes at most (a 64-character id, a 64-bit size).
    /// </summary>
    public const int OfferBytesMax = 80;

    /// <summary>Encoded bytes of the request besides its offers, at most (the union tag, settings, headers).</summary>
    public const int OverheadBytesMax = 1024;
}

/// <summary>
/// The answer to an <see cref="OfferChunksRequest"/>: the positions (0-based, strictly ascending) of the offered
/// chunks the receiver lacks or will not confirm now; every other offered chunk is durable on the receiver. With the
/// runtime cluster settings the receiver holds, as on a store reply.
/// </summary>
[MessagePackObject]
public sealed record OfferChunksReply(
    [property: Key(0)] int[] Lacking,
    [property: Key(1)] Membership.ClusterSettings? Settings = null) : TransferFrame;
