using System.Security.Cryptography;
using System.Text;

namespace KeplerSim.Node.S3;

/// <summary>
/// A read-only forward stream whose subclasses implement only
/// <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.
/// </summary>
internal abstract class ForwardReadStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer,
        CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// Passes a body through while hashing it: MD5 always (the object's ETag), SHA-256 when the signature covers the
/// payload. At the end of the body it checks Content-MD5 and x-amz-content-sha256 and throws before the last read
/// returns 0, so a write whose body does not match never gets a manifest.
/// </summary>
internal sealed class HashingStream(Stream inner, string? contentMd5Base64, string? sha256Hex, long? expectedLength)
    : ForwardReadStream
{
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash? _sha256 =
        sha256Hex is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _length;

    /// <summary>The body's MD5 once it has been read to its end.</summary>
    public byte[]? Md5 { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read > 0)
        {
            _md5.AppendData(buffer.Span[..read]);
            _sha256?.AppendData(buffer.Span[..read]);
            _length += read;
            return read;
        }

        if (Md5 is null)
        {
            Finish();
        }

        return 0;
    }

    private void Finish()
    {
        var md5 = _md5.GetHashAndReset();
        if (expectedLength is { } length && length != _length)
        {
            throw new S3Exception(400, "IncompleteBody",
                $"The body has {_length} bytes; the request said {length}");
        }

        if (contentMd5Base64 is not null
            && !CryptographicOperations.FixedTimeEquals(md5, DecodeMd5(contentMd5Base64)))
        {
            throw new S3Exception(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
        }

        if (_sha256 is not null
            && !SigV4.SameHex(Convert.ToHexStringLower(_sha256.GetHashAndReset()), sha256Hex!))
        {
            throw new S3Exception(400, "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }

        Md5 = md5;
    }

    /// <summary>Decodes a Content-MD5 header; a malformed one is InvalidDigest.</summary>
    public static byte[] DecodeMd5(string base64)
    {
        Span<byte> digest = stackalloc byte[32];
        return Convert.TryFromBase64String(base64, digest, out var written) && written == 16
            ? digest[..16].ToArray()
            : throw new S3Exception(400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _md5.Dispose();
            _sha256?.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Decodes an aws-chunked body (<c>size;chunk-signature=sig\r\n data \r\n … 0;…\r\n trailers \r\n</c>) with
/// constant memory, verifying every chunk's signature as its last byte passes (each signs the previous one, starting
/// from the request's), and the trailer's signature when there is one. A bad signature throws SignatureDoesNotMatch
/// from a read: the write it feeds fails before its manifest exists.
/// </summary>
internal sealed class AwsChunkedStream : ForwardReadStream
{
    /// <summary>The longest chunk header or trailer line.</summary>
    public const int LineBytesMax = 4096;

    /// <summary>The largest chunk accepted (clients send 64 KiB to 8 MiB).</summary>
    public const long ChunkBytesMax = 64L * 1024 * 1024;

    private readonly Stream _inner;
    private readonly SignedRequest? _signed;
    private readonly byte[] _buffer = new byte[64 * 1024];
    /// <summary>The SHA-256 of the chunk passing, for its signature; null when the payload is unsigned.</summary>
    private readonly IncrementalHash? _chunkHash;
    private string _previousSignature;
    private string? _chunkSignature;
    private int _start;
    private int _end;
    private long _remaining;
    private bool _done;

    public AwsChunkedStream(Stream inner, SignedRequest signed)
    {
        _inner = inner;
        _signed = signed.Payload == PayloadMode.StreamingSigned ? signed : null;
        _chunkHash = _signed is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        _previousSignature = signed.Signature;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_done || buffer.Length == 0)
        {
            return 0;
        }

        if (_remaining == 0)
        {
            await NextChunkAsync(cancellationToken).ConfigureAwait(false);
            if (_done)
            {
                return 0;
            }
        }

        if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new S3Exception(400, "IncompleteBody", "The aws-chunked body ended inside a chunk");
        }

        var count = (int)Math.Min(Math.Min(buffer.Length, _end - _start), _remaining);
        _buffer.AsSpan(_start, count).CopyTo(buffer.Span);
        _chunkHash?.AppendData(_buffer, _start, count);
        _start += count;
        _remaining -= count;
        if (_remaining == 0)
        {
            await EndChunkAsync(cancellationToken).ConfigureAwait(false);
        }

        return count;
    }

    private async Task NextChunkAsync(CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        var semicolon = line.IndexOf(';', StringComparison.Ordinal);
        var sizeText = semicolon < 0 ? line : line[..semicolon];
        if (!long.TryParse(sizeText, System.Globalization.NumberStyles.AllowHexSpecifier,
                System.Globalization.CultureInfo.InvariantCulture, out var size) || size < 0 || size > ChunkBytesMax)
        {
            throw new S3Exception(400, "InvalidRequest", $"aws-chunked: bad chunk size line '{Clip(line)}'");
        }

        const string signatureField = "chunk-signature=";
        var field = semicolon < 0 ? null : line[(semicolon + 1)..].Trim();
        _chunkSignature = field is not null && field.StartsWith(signatureField, StringComparison.Ordinal)
            ? field[signatureField.Length..]
            : null;
        if (_signed is not null && _chunkSignature is null)
        {
            throw new S3Exception(400, "InvalidRequest", "aws-chunked: a chunk has no chunk-signature");
        }

        _remaining = size;
        if (size == 0)
        {
            VerifyChunk();
            await ReadTrailersAsync(cancellationToken).ConfigureAwait(false);
            _done = true;
        }
    }

    private async Task EndChunkAsync(CancellationToken cancellationToken)
    {
        VerifyChunk();
        if (await ReadLineAsync(cancellationToken).ConfigureAwait(false) != "")
        {
            throw new S3Exception(400, "InvalidRequest", "aws-chunked: chunk data is not followed by CRLF");
        }
    }

    private void VerifyChunk()
    {
        if (_signed is null || _chunkHash is null)
        {
            return; // STREAMING-UNSIGNED-PAYLOAD-TRAILER: the chunks carry no signature to check.
        }

        var dataHash = Convert.ToHexStringLower(_chunkHash.GetHashAndReset());
        var toSign = $"AWS4-HMAC-SHA256-PAYLOAD\n{_signed.AmzDate}\n{_signed.Scope}\n{_previousSignature}\n" +
            $"{SigV4.EmptySha256}\n{dataHash}";
        var expected = Convert.ToHexStringLower(SigV4.Hmac(_signed.SigningKey, toSign));
        if (!SigV4.SameHex(expected, _chunkSignature!))
        {
            throw S3Exception.SignatureDoesNotMatch();
        }

        _previousSignature = expected;
    }

    private async Task ReadTrailersAsync(CancellationToken cancellationToken)
    {
        var trailers = new StringBuilder();
        string? trailerSignature = null;
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line.Length == 0)
            {
                break;
            }

            if (line.StartsWith("x-amz-trailer-signature:", StringComparison.OrdinalIgnoreCase))
            {
                trailerSignature = line["x-amz-trailer-signature:".Length..].Trim();
            }
            else
            {
                trailers.Append(line.Trim()).Append('\n');
            }
        }

        if (_signed is not null && _signed.HasTrailer)
        {
            var toSign = $"AWS4-HMAC-SHA256-TRAILER\n{_signed.AmzDate}\n{_signed.Scope}\n{_previousSignature}\n" +
                SigV4.Sha256Hex(Encoding.UTF8.GetBytes(trailers.ToString()));
            var expected = Convert.ToHexStringLower(SigV4.Hmac(_signed.SigningKey, toSign));
            if (trailerSignature is null || !SigV4.SameHex(expected, trailerSignature))
            {
                throw S3Exception.SignatureDoesNotMatch();
            }
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                // A body may end right after the last chunk's line without the final CRLF of the trailer section.
                return line.Count == 0 ? "" : throw new S3Exception(400, "IncompleteBody", "aws-chunked: truncated");
            }

            var b = _buffer[_start++];
            if (b == '\n')
            {
                return Encoding.ASCII.GetString([.. line]).TrimEnd('\r');
            }

            line.Add(b);
            if (line.Count > LineBytesMax)
            {
                throw new S3Exception(400, "InvalidRequest", "aws-chunked: a line is too long");
            }
        }
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _inner.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        return _end > 0;
    }

    private static string Clip(string text) => text.Length > 40 ? text[..40] + "…" : text;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _chunkHash?.Dispose();
        }

        base.Dispose(disposing);
    }
}
