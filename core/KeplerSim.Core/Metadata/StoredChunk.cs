namespace KeplerSim.Core.Metadata;

/// <summary>Why this node keeps a chunk.</summary>
public enum ChunkState
{
    /// <summary>This node is one of the chunk's owners on the ring.</summary>
    Durable,

    /// <summary>This node owns none of the chunk but keeps a durable copy until the owners have it.</summary>
    Hinted,
}

/// <summary>A row of <c>chunks</c>: one chunk file on this node's disk. Times are wall microseconds.</summary>
/// <param name="Id">The chunk id (SHA-256 hex); the metadata store treats it as opaque text.</param>
/// <param name="SizeBytes">The chunk's length in bytes.</param>
/// <param name="Path">Where the chunk lives, relative to the node's data directory.</param>
/// <param name="State">Whether this node owns the chunk or holds a hinted copy.</param>
/// <param name="CreatedAtUs">When the chunk was first recorded; kept across upserts.</param>
/// <param name="VerifiedAtUs">When scrub last read the chunk back and found it matching its id.</param>
public sealed record StoredChunk(
    string Id,
    long SizeBytes,
    string Path,
    ChunkState State,
    long CreatedAtUs,
    long? VerifiedAtUs = null);
