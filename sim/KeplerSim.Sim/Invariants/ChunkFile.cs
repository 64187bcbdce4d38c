using KeplerSim.Core.Storage;

namespace KeplerSim.Sim.Invariants;

/// <summary>A chunk file on a node's disk, simulated or real.</summary>
/// <param name="Path">Its path: relative to the data directory on a simulated disk, absolute on a real one.</param>
/// <param name="Id">The id its name claims.</param>
/// <param name="Matches">Whether its content hashes to the id and it sits in the id's shard.</param>
public readonly record struct ChunkFile(string Path, string Id, bool Matches)
{
    private const int IdLength = 64;
    private const string ChunkRoot = ChunkStore.RootDirectory + "/";
    private const string TmpRoot = ChunkStore.TmpDirectory + "/";

    /// <summary>
    /// The id a file's name claims if <paramref name="relativePath"/> (relative to the data directory, '/'
    /// separated) names a chunk file, null otherwise: outside <c>chunks/</c>, under <c>chunks/tmp/</c>, or not a
    /// 64-hex lower-case name. The simulator's and real mode's inspectors list chunk files by this one rule.
    /// </summary>
    public static string? IdOf(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        if (!relativePath.StartsWith(ChunkRoot, StringComparison.Ordinal)
            || relativePath.StartsWith(TmpRoot, StringComparison.Ordinal))
        {
            return null;
        }

        var id = relativePath[(relativePath.LastIndexOf('/') + 1)..];
        return id.Length == IdLength && id.All(char.IsAsciiHexDigitLower) ? id : null;
    }

    /// <summary>Whether <paramref name="relativePath"/> is where <see cref="ChunkStore.PathOf"/> puts
    /// <paramref name="id"/> (<c>chunks/ab/cd/&lt;id&gt;</c>; spelled out here because the simulator asks for every
    /// file at every scan and <see cref="ChunkStore.PathOf"/> validates the id again).</summary>
    public static bool InShard(string relativePath, string id)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        ArgumentNullException.ThrowIfNull(id);
        return id.Length == IdLength && relativePath == $"{ChunkRoot}{id[..2]}/{id[2..4]}/{id}";
    }
}
