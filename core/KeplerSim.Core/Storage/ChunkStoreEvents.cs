using KeplerSim.Core.Diagnostics;

namespace KeplerSim.Core.Storage;

/// <summary>A stored chunk failed verification (on read, verify, write or recovery).</summary>
public sealed record ChunkCorruptEvent(string ChunkId, string Path, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.corrupt";
}

/// <summary>The index knew a chunk that recovery could not find (or had to delete as corrupt).</summary>
public sealed record ChunkMissingEvent(string ChunkId) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.missing";
}

/// <summary>Recovery deleted a temporary file left by a write that a crash cut short.</summary>
public sealed record ChunkTmpCleanedEvent(string Path) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.tmp_cleaned";
}

/// <summary>Recovery finished; counts only, the lists are in the <see cref="RecoveryReport"/>.</summary>
public sealed record ChunkRecoveryEvent(
    int TmpFilesRemoved,
    int ChunksVerified,
    int Registered,
    int DeletedCorrupt,
    int MissingKnown,
    int CorruptKnown,
    int StrayFiles) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.recovered";
}

/// <summary>An at-rest key was used on the store for the first time and its key check recorded.</summary>
public sealed record AtRestKeyRecordedEvent(string KeyId) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.at_rest_key_recorded";
}
