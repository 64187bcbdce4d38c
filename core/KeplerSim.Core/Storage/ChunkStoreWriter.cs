using System.Security.Cryptography;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Storage;

/// <summary>
/// A chunk write in progress (from <see cref="ChunkStore.BeginWriteAsync"/>): segments are appended to a tmp file
/// and hashed incrementally; <see cref="CommitAsync"/> verifies the hash, fsyncs and renames the file into place.
/// Any failure, or disposal before commit, deletes the tmp file. One operation at a time.
/// </summary>
public sealed class ChunkWriter : IAsyncDisposable
{
    /// <summary>Segments at least this large are hashed as pure work (off the loop); smaller ones inline.</summary>
    public const int PureWorkBytesMin = 256 * 1024;

    private readonly ChunkStore _store;
    private readonly string _tmpPath;
    private readonly IWritableFile _file;

    // Null when the caller already hashed the bytes it appends (ChunkStore.HashAsync): they are not hashed twice.
    private readonly IncrementalHash? _hash;

    // Null when the store keeps chunks in plaintext; else what encrypts the bytes on their way to the tmp file.
    private readonly ChunkSealer? _sealer;
    private bool _busy;
    private bool _closed;

    internal ChunkWriter(ChunkStore store, string id, string tmpPath, IWritableFile file, bool verifyHash,
        ChunkSealer? sealer)
    {
        _sealer = sealer;
        _store = store;
        ChunkId = id;
        _tmpPath = tmpPath;
        _file = file;
        _hash = verifyHash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    }

    /// <summary>The id the bytes must hash to.</summary>
    public string ChunkId { get; }

    /// <summary>Bytes appended so far.</summary>
    public long LengthBytes { get; private set; }

    /// <summary>
    /// Appends a segment. Throws <see cref="ChunkTooLargeException"/> when the chunk would exceed
    /// <see cref="ChunkStore.ChunkSizeBytesMax"/>; on that or any disk error (such as
    /// <see cref="DiskFullException"/>) the write is abandoned and its tmp file deleted.
    /// </summary>
    public async Task AppendAsync(ReadOnlyMemory<byte> segment)
    {
        Enter();
        try
        {
            if (LengthBytes + segment.Length > ChunkStore.ChunkSizeBytesMax)
            {
                _store.CountRejected();
                await AbandonAsync();
                throw new ChunkTooLargeException(ChunkId, LengthBytes + segment.Length);
            }

            // A large segment is hashed as pure work (off the loop on a real node) while the disk writes it; a
            // small one (a 64 KiB stream frame) costs less to hash here than a hop to another thread.
            Task<bool> hashing;
            if (_hash is not { } hash)
            {
                hashing = Task.FromResult(true);
            }
            else if (segment.Length < PureWorkBytesMin)
            {
                hash.AppendData(segment.Span);
                hashing = Task.FromResult(true);
            }
            else
            {
                hashing = _store.PureWork.RunAsync(() =>
                {
                    hash.AppendData(segment.Span);
                    return true;
                });
            }

            try
            {
                await _file.AppendAsync(await SealAsync(segment));
            }
            catch (IOException)
            {
                await hashing;
                await AbandonAsync();
                throw;
            }

            await hashing;
            LengthBytes += segment.Length;
        }
        finally
        {
            _busy = false;
        }
    }

    /// <summary>
    /// Verifies that the bytes hash to <see cref="ChunkId"/> (else deletes the tmp file and throws
    /// <see cref="ChunkMismatchException"/>), then fsyncs, renames into place and fsyncs the shard directory. When
    /// this returns the chunk survives any crash.
    /// </summary>
    public async Task<ChunkWriteOutcome> CommitAsync()
    {
        Enter();
        try
        {
            var actual = _hash is null ? ChunkId : Convert.ToHexStringLower(_hash.GetHashAndReset());
            if (!string.Equals(actual, ChunkId, StringComparison.Ordinal))
            {
                _store.CountRejected();
                await AbandonAsync();
                throw new ChunkMismatchException(ChunkId, actual);
            }

            try
            {
                if (_sealer is { } sealer)
                {
                    await _file.AppendAsync(sealer.Finish());
                }

                await _file.FsyncAsync();
                await _file.DisposeAsync();
            }
            catch (IOException)
            {
                await AbandonAsync();
                throw;
            }

            // From here the tmp file is handed over: if the rename fails it stays for recovery to delete, and if
            // only the directory fsync fails the (valid) chunk stays for recovery to register.
            Close();
            return await _store.PublishAsync(ChunkId, _tmpPath, LengthBytes);
        }
        finally
        {
            _busy = false;
        }
    }

    /// <summary>Abandons the write (deleting the tmp file) unless it was committed or already abandoned.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_closed)
        {
            Invariant.That(!_busy, $"chunk writer for {ChunkId} disposed during an operation");
            await AbandonAsync();
        }
    }

    /// <summary>
    /// The file bytes for a plaintext segment: itself, or (with an at-rest key) the segments it completes, sealed
    /// as pure work when large (alongside its hashing) and inline when small.
    /// </summary>
    private async Task<ReadOnlyMemory<byte>> SealAsync(ReadOnlyMemory<byte> segment)
    {
        if (_sealer is not { } sealer)
        {
            return segment;
        }

        return segment.Length < PureWorkBytesMin
            ? sealer.Push(segment.Span)
            : await _store.PureWork.RunAsync(() => sealer.Push(segment.Span));
    }

    private void Enter()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        Invariant.That(!_busy, $"chunk writer for {ChunkId} used by two operations at once");
        _busy = true;
    }

    private async Task AbandonAsync()
    {
        Close();
        await _file.DisposeAsync();
        await _store.DiscardAsync(_tmpPath);
    }

    private void Close()
    {
        if (!_closed)
        {
            _closed = true;
            _hash?.Dispose();
            _sealer?.Dispose();
            _store.WriterClosed();
        }
    }
}
