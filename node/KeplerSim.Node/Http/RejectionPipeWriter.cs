using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace KeplerSim.Node.Http;

/// <summary>
/// An HTTP/1.x connection's transport output. Every byte passes straight through until <see cref="Reject"/> marks the
/// connection: from then on what Kestrel writes (its empty-bodied rejection response) is captured, and at the next
/// flush it is replaced by the listener's error response. Bytes written before the mark (every earlier response on
/// the connection, whatever their content) are never held, inspected or changed.
/// </summary>
/// <remarks>
/// Kestrel handles an HTTP/1.x connection's requests in sequence and awaits the flush of each response before it
/// reads the next request's head, so at the mark every byte of earlier responses has already been forwarded; the
/// rejection response is the only thing Kestrel writes after it, and then it closes the connection.
/// </remarks>
internal sealed class RejectionPipeWriter(PipeWriter inner) : PipeWriter
{
    /// <summary>The most bytes captured after the mark (Kestrel's rejection head is about 100 bytes).</summary>
    public const int CapturedBytesMax = 16 * 1024;

    private ArrayBufferWriter<byte>? _captured;
    private byte[] _replacement = [];
    private State _state;
    private bool _handedOutCapture;

    private enum State
    {
        /// <summary>Not rejected: every byte goes to the transport.</summary>
        Passing,

        /// <summary>Rejected: what Kestrel writes is captured until the next flush.</summary>
        Capturing,

        /// <summary>The captured response was replaced; what Kestrel still writes of it is dropped.</summary>
        Replaced,

        /// <summary>The captured bytes were no HTTP/1 response (an HTTP/2 GOAWAY): they went out unchanged.</summary>
        Released,
    }

    /// <inheritdoc/>
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    /// <inheritdoc/>
    public override long UnflushedBytes => inner.UnflushedBytes + (_captured?.WrittenCount ?? 0);

    /// <summary>
    /// Marks the connection rejected: the response Kestrel writes next is replaced by <paramref name="status"/> with
    /// <paramref name="body"/> (its headers only for a HEAD request) and <c>Connection: close</c>. Only the first
    /// mark counts.
    /// </summary>
    public void Reject(int status, RejectionBody body, string? allow, bool head)
    {
        if (_state != State.Passing)
        {
            return;
        }

        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {ReasonPhrases.GetReasonPhrase(status)}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Type: {body.ContentType}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Bytes.Length}\r\n")
            .Append("Connection: close\r\n")
            .Append(CultureInfo.InvariantCulture, $"Date: {DateTimeOffset.UtcNow:r}\r\n");
        if (!string.IsNullOrEmpty(allow))
        {
            text.Append(CultureInfo.InvariantCulture, $"Allow: {allow}\r\n");
        }

        var headBytes = Encoding.ASCII.GetBytes(text.Append("\r\n").ToString());
        _replacement = head ? headBytes : [.. headBytes, .. body.Bytes];
        _captured = new ArrayBufferWriter<byte>(256);
        _state = State.Capturing;
    }

    /// <inheritdoc/>
    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        _handedOutCapture = _state is State.Capturing or State.Replaced;
        return _handedOutCapture ? _captured!.GetMemory(sizeHint) : inner.GetMemory(sizeHint);
    }

    /// <inheritdoc/>
    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        _handedOutCapture = _state is State.Capturing or State.Replaced;
        return _handedOutCapture ? _captured!.GetSpan(sizeHint) : inner.GetSpan(sizeHint);
    }

    /// <inheritdoc/>
    public override void Advance(int bytes)
    {
        // The memory handed out last decides: memory of the transport was written before the mark and goes out.
        if (!_handedOutCapture)
        {
            inner.Advance(bytes);
            return;
        }

        _captured!.Advance(bytes);
        if (_state == State.Replaced)
        {
            _captured.ResetWrittenCount();
        }
        else if (_captured.WrittenCount > CapturedBytesMax)
        {
            Settle();
        }
    }

    /// <inheritdoc/>
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        Settle();
        return inner.FlushAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    /// <inheritdoc/>
    public override void Complete(Exception? exception = null)
    {
        Settle();
        inner.Complete(exception);
    }

    /// <inheritdoc/>
    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        Settle();
        return inner.CompleteAsync(exception);
    }

    /// <summary>Sends the replacement for a captured HTTP/1 response, or the captured bytes as they are.</summary>
    private void Settle()
    {
        if (_state != State.Capturing || _captured!.WrittenCount == 0)
        {
            return;
        }

        if (_captured.WrittenSpan.StartsWith("HTTP/1."u8))
        {
            inner.Write(_replacement);
            _state = State.Replaced;
        }
        else
        {
            inner.Write(_captured.WrittenSpan);
            _state = State.Released;
        }

        _captured.ResetWrittenCount();
    }
}
