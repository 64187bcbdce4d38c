namespace KeplerSim.Core.Write;

/// <summary>The direct pushes of one upload chunk to its other owners (they read the chunk's buffer).</summary>
internal sealed class ChunkPushes
{
    /// <summary>Completes when every push of the chunk has ended.</summary>
    public Task Ended { get; set; } = Task.CompletedTask;
}

/// <summary>
/// An upload's chunk buffers: spare ones, and ones lent to pushes still running (reused once they end).
/// </summary>
internal sealed class UploadBuffers(int chunkSizeBytes, int lentMax)
{
    private readonly Stack<byte[]> _spare = new();
    private readonly List<(byte[] Buffer, Task Ended)> _lent = [];

    /// <summary>Returns a chunk's buffer: spare at once, or lent until the chunk's pushes end.</summary>
    public void Release(byte[] buffer, ChunkPushes pushes)
    {
        if (pushes.Ended.IsCompleted)
        {
            _spare.Push(buffer);
        }
        else
        {
            _lent.Add((buffer, pushes.Ended));
        }
    }

    /// <summary>A buffer for the next chunk: a spare one, a returned one, or a new one.</summary>
    public async Task<byte[]> TakeAsync()
    {
        if (_spare.Count > 0)
        {
            return _spare.Pop();
        }

        if (_lent.Count >= lentMax)
        {
            await Task.WhenAny(_lent.Select(l => l.Ended));
        }

        var returned = _lent.FindIndex(l => l.Ended.IsCompleted);
        if (returned < 0)
        {
            return new byte[chunkSizeBytes];
        }

        var buffer = _lent[returned].Buffer;
        _lent.RemoveAt(returned);
        return buffer;
    }
}
