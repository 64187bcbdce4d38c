using KeplerSim.Core.Manifests;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    /// <summary>
    /// Writes <paramref name="path"/> as the concatenation of the live versions of <paramref name="sources"/>
    /// without copying a byte: chunks are content-addressed, so the new manifest lists the sources' chunks (the S3
    /// API's multipart Complete and CopyObject). Every source but the last must fill whole chunks of one chunk size;
    /// otherwise <see cref="ChunksNotAlignedException"/> is thrown and nothing is written (the caller copies).
    /// </summary>
    public async Task<FileVersionInfo> ComposeAsync(string path, IReadOnlyList<string> sources, Durability durability,
        IReadOnlyDictionary<string, string>? attributes)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var filePath = FilePath.Parse(path);
        await EnsureReadyAsync();
        var required = EnsureEnoughMembersLive(durability, path);
        var manifests = new List<Manifest>(sources.Count);
        foreach (var source in sources)
        {
            manifests.Add(await ResolveLiveManifestAsync(FilePath.Parse(source)));
        }

        var chunkSize = ComposedChunkSize(manifests);
        var chunks = new List<ChunkId>();
        var size = 0L;
        foreach (var manifest in manifests)
        {
            chunks.AddRange(manifest.Chunks);
            size += manifest.SizeBytes;
        }

        if (chunks.Count > Manifest.ChunksMax)
        {
            throw new ChunksNotAlignedException($"'{path}' would have {chunks.Count} chunks; the limit is " +
                $"{Manifest.ChunksMax}");
        }

        var composed = Manifest.Create(filePath, size, chunks, chunkSize, Clock.Now(), Id)
            .Superseding(CurrentVersions(filePath));
        if (attributes is { Count: > 0 })
        {
            composed = composed.WithAttributes(attributes);
        }

        await PublishManifestAsync(composed, required);
        Metrics.WritesAcknowledged++;
        return Describe(composed, isWinner: true);
    }

    /// <summary>The one chunk size every source shares, when all but the last fill whole chunks of it.</summary>
    private int ComposedChunkSize(List<Manifest> manifests)
    {
        var sized = manifests.Where(m => m.SizeBytes > 0).ToList();
        var chunkSize = sized.Count > 0 ? sized[0].ChunkSizeBytes : _options.ChunkSizeBytes;
        for (var i = 0; i < sized.Count; i++)
        {
            var last = i == sized.Count - 1;
            if (sized[i].ChunkSizeBytes != chunkSize || (!last && sized[i].SizeBytes % chunkSize != 0))
            {
                throw new ChunksNotAlignedException(
                    $"source {i} ({sized[i].Path}, {sized[i].SizeBytes} B in chunks of {sized[i].ChunkSizeBytes}) " +
                    $"does not fill whole chunks of {chunkSize} B");
            }
        }

        // Empty sources add no chunks; dropping them keeps the chunk list consistent with the size.
        return chunkSize;
    }
}

/// <summary>The sources of a compose do not line up on chunk boundaries: their bytes must be copied instead.</summary>
public sealed class ChunksNotAlignedException(string message) : Exception(message);
