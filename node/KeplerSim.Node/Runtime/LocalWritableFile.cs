using KeplerSim.Core.Runtime;

namespace KeplerSim.Node.Runtime;

/// <summary>A file open for appending; appends and fsyncs run on the thread pool and complete on the loop.</summary>
internal sealed class LocalWritableFile(LocalDisk disk, string path, FileStream stream) : IWritableFile
{
    public string Path => path;

    public Task AppendAsync(ReadOnlyMemory<byte> data) => disk.Loop.RunIoAsync(async () =>
    {
        disk.Reserve(path, data.Length);
        var before = stream.Position;
        try
        {
            await stream.WriteAsync(data).ConfigureAwait(false);
        }
        catch (IOException e) when (LocalDisk.IsDiskFull(e))
        {
            // Nothing of a failed append may stay: cut the file back to where it was.
            stream.SetLength(before);
            stream.Position = before;
            disk.Account(-data.Length);
            throw new DiskFullException($"no space left on device writing {path}");
        }
        catch (IOException e) when (e is not DiskFullException)
        {
            throw new DiskIOException($"I/O error writing {path}: {e.Message}");
        }
    });

    public Task FsyncAsync() => disk.Loop.RunIoAsync(() =>
    {
        try
        {
            stream.Flush(flushToDisk: true);
        }
        catch (IOException e)
        {
            throw new DiskIOException($"fsync of {path} failed: {e.Message}");
        }

        return Task.CompletedTask;
    });

    public ValueTask DisposeAsync() => new(disk.Loop.RunIoAsync(async () =>
    {
        await stream.DisposeAsync().ConfigureAwait(false);
    }));
}
