namespace KeplerSim.Core.Write;

/// <summary>
/// The node-wide budget of upload chunk buffers (<see cref="Node.KeplerOptions.UploadBufferBytesMax"/>): however
/// many uploads run at once, their buffers together stay within it, so peak memory does not grow with the number
/// of concurrent uploads. An upload that already holds buffers never waits for the budget (it reuses its own once
/// its oldest chunk is stored); one that holds none waits in arrival order until another upload returns some. So
/// the budget can never deadlock: every waiter waits on uploads that are making progress.
/// </summary>
internal sealed class UploadBudget(int buffersMax)
{
    /// <summary>Chunk buffers kept for the next uploads once an upload ends (each is a chunk's size, 4 MiB by
    /// default): a stream of small uploads reuses them instead of allocating and zeroing a fresh one each.</summary>
    public const int KeptBuffersMax = 2;

    private readonly Queue<TaskCompletionSource> _waiting = new();
    // Kept buffers, the last kept at the end, each with the task that ends when nothing reads it any more.
    private readonly List<(byte[] Buffer, Task Readers)> _kept = [];

    /// <summary>Buffers held by uploads now.</summary>
    public int Taken { get; private set; }

    /// <summary>The most buffers held at once so far.</summary>
    public int Peak { get; private set; }

    /// <summary>The most buffers all uploads may hold together.</summary>
    public int BuffersMax => buffersMax;

    /// <summary>Takes a buffer if the budget has one left and nobody waits for it.</summary>
    public bool TryTake()
    {
        if (Taken >= buffersMax || _waiting.Count > 0)
        {
            return false;
        }

        Taken++;
        Peak = Math.Max(Peak, Taken);
        return true;
    }

    /// <summary>Takes a buffer, waiting (first come, first served) until one is returned.</summary>
    public Task TakeAsync()
    {
        if (TryTake())
        {
            return Task.CompletedTask;
        }

        var waiter = new TaskCompletionSource();
        _waiting.Enqueue(waiter);
        return waiter.Task;
    }

    /// <summary>A chunk buffer of <paramref name="sizeBytes"/>: one an ended upload left (the last kept whose
    /// readers have ended), else a new one. Its bytes are whatever the last chunk left there; callers use only what
    /// they fill.</summary>
    public byte[] Rent(int sizeBytes)
    {
        for (var i = _kept.Count - 1; i >= 0; i--)
        {
            var (buffer, readers) = _kept[i];
            if (!readers.IsCompleted)
            {
                continue; // A push still sends from it.
            }

            _kept.RemoveAt(i);
            if (buffer.Length == sizeBytes)
            {
                return buffer;
            }
        }

        Allocated++;
        return new byte[sizeBytes];
    }

    /// <summary>Chunk buffers allocated so far (each a chunk's size); the rest of the uploads reused kept ones.
    /// </summary>
    public long Allocated { get; private set; }

    /// <summary>
    /// Keeps a buffer for a later upload (at most <see cref="KeptBuffersMax"/>), to be handed out once
    /// <paramref name="readers"/> has ended (default: at once). A quorum write's upload usually ends while the push
    /// to its slowest owner still reads the chunk's buffer; dropping such buffers made almost every small upload
    /// allocate and zero a fresh 4 MiB one (issue 14: 8 % of a simulated steady-state run's CPU).
    /// </summary>
    public void Keep(byte[] buffer, Task? readers = null)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (_kept.Count < Math.Min(KeptBuffersMax, buffersMax))
        {
            _kept.Add((buffer, readers ?? Task.CompletedTask));
        }
    }

    /// <summary>Returns <paramref name="count"/> buffers: each to the longest waiter, else to the budget.</summary>
    public void Return(int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (_waiting.TryDequeue(out var waiter))
            {
                waiter.SetResult(); // The buffer passes straight to the waiter: Taken stays.
            }
            else
            {
                Taken--;
            }
        }

        Invariant.That(Taken >= 0, "upload budget returned more buffers than it lent");
    }
}
