namespace KeplerSim.Node.Http;

/// <summary>
/// The request body as core sees it: each read fills the caller's buffer from the HTTP body on the thread pool
/// and completes on the loop, so the loop never blocks on the client. Counts bytes and enforces the upload limit.
/// </summary>
internal sealed class LoopReadStream(Runtime.EventLoop loop, Stream body, long? limitBytes, Action<long> counted)
    : Stream
{
    private long _total;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _total;
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(loop.RunIoAsync(async () =>
        {
            // One hop per buffer: fill it off the loop (a stream may return fewer bytes only at its end here).
            var read = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false,
                cancellationToken).ConfigureAwait(false);
            _total += read;
            counted(read);
            if (limitBytes is { } limit && _total > limit)
            {
                throw new UploadTooLargeException(limit);
            }

            return read;
        }));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("core reads asynchronously");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// The response body as core sees it: each write goes to the HTTP response on the thread pool and completes on the
/// loop once the client has taken it (backpressure), so a slow client slows the read instead of growing memory.
/// </summary>
internal sealed class LoopWriteStream(Runtime.EventLoop loop, Stream body, Action<long> counted) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(loop.RunIoAsync(async () =>
        {
            // The buffer is only read before this task completes, so it is safe to hand over without a copy.
            await body.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            counted(buffer.Length);
        }));

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("core writes asynchronously");

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>The upload is larger than MAX_UPLOAD_MB allows.</summary>
internal sealed class UploadTooLargeException(long limitBytes)
    : Exception($"the upload exceeds the limit of {limitBytes} bytes (MAX_UPLOAD_MB)")
{
    public long LimitBytes => limitBytes;
}
