using System.Buffers;
using System.Security.Cryptography;

namespace KeplerSim.Core.Storage;

/// <summary>
/// Encrypts one chunk file as it is written (<see cref="AtRestFormat"/>): plaintext is pushed in pieces of any size
/// and comes out as header and sealed segments ready to append. A segment is sealed only once a byte after it
/// arrived (so the writer knows it is not the last); <see cref="Finish"/> seals the rest as the final segment.
/// Memory is one pending segment plus the output of the largest push, both pooled.
/// </summary>
internal sealed class ChunkSealer : IDisposable
{
    private const int StoredSegmentSizeBytes = AtRestFormat.SegmentSizeBytes + AtRestFormat.TagSizeBytes;

    private readonly AesGcm _cipher;
    private readonly byte[] _header = new byte[AtRestFormat.HeaderSizeBytes];
    private readonly byte[] _chunkDigest;
    private byte[] _pending = ArrayPool<byte>.Shared.Rent(AtRestFormat.SegmentSizeBytes);
    private byte[] _output = [];
    private int _pendingLength;
    private uint _segments;
    private bool _headerWritten;
    private bool _finished;

    /// <summary>
    /// Starts a file sealed under <paramref name="key"/> with a fresh random nonce prefix, for the chunk whose id's
    /// SHA-256 bytes are <paramref name="chunkDigest"/> (bound into every segment).
    /// </summary>
    public ChunkSealer(AtRestKey key, ReadOnlySpan<byte> noncePrefix, ReadOnlySpan<byte> chunkDigest)
    {
        _chunkDigest = chunkDigest.ToArray();
        AtRestFormat.WriteHeader(_header, key, noncePrefix);
        _cipher = key.CreateCipher();
    }

    /// <summary>
    /// Takes plaintext and returns the file bytes it completes (valid until the next call; possibly empty).
    /// </summary>
    public ReadOnlyMemory<byte> Push(ReadOnlySpan<byte> plaintext)
    {
        Invariant.That(!_finished, "no plaintext after the final segment");
        var sealable = (_pendingLength + plaintext.Length - 1) / AtRestFormat.SegmentSizeBytes;
        var used = Begin(sealable);
        if (_pendingLength > 0 && _pendingLength + plaintext.Length > AtRestFormat.SegmentSizeBytes)
        {
            var take = AtRestFormat.SegmentSizeBytes - _pendingLength;
            plaintext[..take].CopyTo(_pending.AsSpan(_pendingLength));
            plaintext = plaintext[take..];
            used = Seal(_pending.AsSpan(0, AtRestFormat.SegmentSizeBytes), final: false, used);
            _pendingLength = 0;
        }

        while (_pendingLength == 0 && plaintext.Length > AtRestFormat.SegmentSizeBytes)
        {
            used = Seal(plaintext[..AtRestFormat.SegmentSizeBytes], final: false, used);
            plaintext = plaintext[AtRestFormat.SegmentSizeBytes..];
        }

        plaintext.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += plaintext.Length;
        Invariant.That(_pendingLength <= AtRestFormat.SegmentSizeBytes, "at most one segment stays pending");
        return _output.AsMemory(0, used);
    }

    /// <summary>Seals what is pending as the final segment and returns the file's last bytes.</summary>
    public ReadOnlyMemory<byte> Finish()
    {
        Invariant.That(!_finished, "a chunk file is finished once");
        var used = Begin(1);
        used = Seal(_pending.AsSpan(0, _pendingLength), final: true, used);
        _finished = true;
        return _output.AsMemory(0, used);
    }

    /// <summary>Returns the pooled buffers.</summary>
    public void Dispose()
    {
        _cipher.Dispose();
        ArrayPool<byte>.Shared.Return(_pending);
        _pending = [];
        if (_output.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_output);
            _output = [];
        }
    }

    /// <summary>Makes room for the header (once) and <paramref name="segments"/> sealed segments.</summary>
    private int Begin(long segments)
    {
        var needed = (_headerWritten ? 0 : AtRestFormat.HeaderSizeBytes) + (segments * StoredSegmentSizeBytes);
        if (_output.Length < needed)
        {
            if (_output.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_output);
            }

            _output = ArrayPool<byte>.Shared.Rent((int)needed);
        }

        if (_headerWritten)
        {
            return 0;
        }

        _header.CopyTo(_output, 0);
        _headerWritten = true;
        return AtRestFormat.HeaderSizeBytes;
    }

    private int Seal(ReadOnlySpan<byte> plaintext, bool final, int used)
    {
        Invariant.That(_segments < uint.MaxValue, "segment counter exhausted");
        var size = plaintext.Length + AtRestFormat.TagSizeBytes;
        AtRestFormat.SealSegment(_cipher, _header, _segments++, final, plaintext, _output.AsSpan(used, size),
            _chunkDigest);
        return used + size;
    }
}
