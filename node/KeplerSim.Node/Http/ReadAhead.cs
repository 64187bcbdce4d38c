using System.IO.Pipelines;

namespace KeplerSim.Node.Http;

/// <summary>
/// Pumps a request body into a bounded pipe on the thread pool, so the next chunk arrives while core writes the
/// current one. Memory stays bounded by <see cref="ReadAheadBytesMax"/>: the pump pauses when the pipe is full.
/// </summary>
internal sealed class ReadAhead : IAsyncDisposable
{
    /// <summary>Bytes buffered ahead of core at most (two default chunks).</summary>
    public const int ReadAheadBytesMax = 8 * 1024 * 1024;

    private const int SegmentBytes = 64 * 1024;

    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: ReadAheadBytesMax,
        resumeWriterThreshold: ReadAheadBytesMax / 2, minimumSegmentSize: SegmentBytes,
        useSynchronizationContext: false));
    private readonly CancellationTokenSource _stop;
    private readonly Task _pump;

    public ReadAhead(Stream body, CancellationToken aborted)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        _pump = Task.Run(() => PumpAsync(body));
        Stream = _pipe.Reader.AsStream();
    }

    /// <summary>The body as read through the pipe.</summary>
    public Stream Stream { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _pump;
        }
        catch (OperationCanceledException)
        {
            // Stopped early: the request failed or ended.
        }

        await _pipe.Reader.CompleteAsync();
        _stop.Dispose();
    }

    private async Task PumpAsync(Stream body)
    {
        Exception? failure = null;
        try
        {
            await body.CopyToAsync(_pipe.Writer, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = e;
        }

        await _pipe.Writer.CompleteAsync(failure).ConfigureAwait(false);
    }
}
