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

    /// <summary>Flips bytes in the middle of a chunk file in place (same length: only the hash can tell).</summary>
    public static void Corrupt(string dataDir, string chunkId)
    {
        var path = Path.Combine(dataDir, ChunkStore.PathOf(chunkId));
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var middle = new byte[16];
        file.Position = file.Length / 2;
        file.ReadExactly(middle);
        for (var i = 0; i < middle.Length; i++)
        {
            middle[i] ^= 0xFF;
        }

        file.Position = file.Length / 2;
        file.Write(middle);
        file.Flush(flushToDisk: true);
    }
}
