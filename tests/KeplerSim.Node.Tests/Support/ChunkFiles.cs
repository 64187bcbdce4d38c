using System.Security.Cryptography;
using KeplerSim.Core.Storage;

namespace KeplerSim.Node.Tests.Support;

/// <summary>Chunk files in a node's data directory, read straight from disk.</summary>
public static class ChunkFiles
{
    /// <summary>Every chunk file under DATA_DIR/chunks (tmp excluded): chunk id → file path.</summary>
    public static IReadOnlyDictionary<string, string> List(string dataDir)
    {
        var root = Path.Combine(dataDir, ChunkStore.RootDirectory);
        var tmp = Path.Combine(dataDir, ChunkStore.TmpDirectory) + Path.DirectorySeparatorChar;
        return Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .Where(f => !f.StartsWith(tmp, StringComparison.Ordinal))
                .ToDictionary(f => Path.GetFileName(f), f => f, StringComparer.Ordinal)
            : new Dictionary<string, string>();
    }

    /// <summary>Whether the node holds <paramref name="chunkId"/> and the file's SHA-256 is its name.</summary>
    public static bool HoldsIntact(string dataDir, string chunkId)
    {
        var path = Path.Combine(dataDir, ChunkStore.PathOf(chunkId));
        try
        {
            return File.Exists(path) && Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))) == chunkId;
        }
        catch (IOException)
        {
            return false; // Being renamed into place right now; the caller polls again.
        }
    }
}
