namespace KeplerSim.Core.Write;

/// <summary>The direct pushes of one upload chunk to its other owners (they read the chunk's buffer).</summary>
internal sealed class ChunkPushes
{
    /// <summary>Completes when every push of the chunk has ended.</summary>
    public Task Ended { get; set; } = Task.CompletedTask;
}

/// <summary>
/// An upload's chunk buffers: spare ones, and ones lent to pushes still running (reused once they end). Every new
/// buffer is taken from the node-wide <see cref="UploadBudget"/>, and all are given back when the upload ends
/// (<see cref="Dispose"/>); a buffer still lent to a push then is counted free a little early (a push ends within
/// its transfer timeout), and is reused only after the push has ended.
/// </summary>
internal sealed class UploadBuffers(int chunkSizeBytes, int lentMax, UploadBudget budget) : IDisposable
{
    private readonly Stack<byte[]> _spare = new();
    private readonly List<(byte[] Buffer, Task Ended)> _lent = [];
    private int _owned;

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

    /// <summary>
    /// A buffer for the next chunk: a spare one, a returned one, or a new one within the node's budget. Null when
    /// the budget is spent and <paramref name="chunksInFlight"/> &gt; 0: the caller then waits for its oldest chunk
    /// and reuses that buffer instead. With no chunk in flight it waits for the budget.
    /// </summary>
    public async Task<byte[]?> TakeAsync(int chunksInFlight)
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
        if (returned >= 0)
        {
            var buffer = _lent[returned].Buffer;
            _lent.RemoveAt(returned);
            return buffer;
        }

        if (!budget.TryTake())
        {
            if (chunksInFlight > 0)
            {
                return null;
            }

            if (_lent.Count > 0)
            {
                await Task.WhenAny(_lent.Select(l => l.Ended));
                return await TakeAsync(chunksInFlight);
            }

            await budget.TakeAsync();
        }

        _owned++;
        return budget.Rent(chunkSizeBytes);
    }

    /// <summary>
    /// Gives every buffer this upload took back to the node's budget, and the buffers to its keeping (one still
    /// lent to a running push is handed out again only after that push has ended).
    /// </summary>
    public void Dispose()
    {
        foreach (var buffer in _spare)
        {
            budget.Keep(buffer);
        }

        foreach (var (buffer, ended) in _lent)
        {
            budget.Keep(buffer, ended); // Handed out again only once its pushes have ended.
        }

        _spare.Clear();
        _lent.Clear();
        budget.Return(_owned);
        _owned = 0;
    }
}
