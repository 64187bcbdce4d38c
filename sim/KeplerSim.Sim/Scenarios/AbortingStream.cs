namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// A client upload that is cut off: it yields the first <c>abortAfter</c> bytes of the content, then fails the
/// next read with an <see cref="IOException"/>, as a real node's request body does when the client disconnects.
/// </summary>
internal sealed class AbortingStream(byte[] content, long abortAfter) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => content.Length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var end = Math.Min(content.Length, abortAfter);
        if (_position >= end && end < content.Length)
        {
            throw new IOException($"the client disconnected after {abortAfter} bytes");
        }

        var n = (int)Math.Min(buffer.Length, end - _position);
        content.AsSpan((int)_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    // Synchronous, as MemoryStream's: the base class would read on the thread pool, off the node's thread.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return ValueTask.FromResult(Read(buffer.Span));
        }
        catch (IOException e)
        {
            return ValueTask.FromException<int>(e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
