using System.Buffers;

namespace KeplerSim.Core.Storage;

/// <summary>
/// Bytes of one chunk, usually in an array rented from <see cref="ArrayPool{T}.Shared"/>: disposing returns the
/// array for the next read, so hot paths (a download, scrub, replication) reuse a few chunk-sized arrays instead of
/// allocating fresh 4 MiB arrays on the large object heap for every chunk, each of which costs page faults and
/// gen-2 collections. Dispose only once nothing reads <see cref="Data"/> any more (a later read may overwrite it);
/// disposing twice is harmless, and a buffer never disposed is simply collected.
/// </summary>
/// <remarks>A rented array may be longer than the chunk and hold stale bytes past it: only <see cref="Data"/>
/// (exactly the chunk's length, filled by the read) is ever exposed, so what was there before never reaches
/// behaviour.</remarks>
public sealed class ChunkBuffer : IDisposable
{
    private int _length;
    private readonly bool _pooled;
    private byte[]? _array;

    private ChunkBuffer(byte[] array, int length, bool pooled)
    {
        _array = array;
        _length = length;
        _pooled = pooled;
    }

    /// <summary>A buffer of exactly <paramref name="length"/> bytes (rented; contents undefined until written).</summary>
    public static ChunkBuffer Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new ChunkBuffer(length == 0 ? [] : ArrayPool<byte>.Shared.Rent(length), length, pooled: length > 0);
    }

    /// <summary>Wraps bytes that are not pooled (a copy fetched from a peer); disposing only forgets them.</summary>
    public static ChunkBuffer Wrap(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new ChunkBuffer(data, data.Length, pooled: false);
    }

    /// <summary>The chunk's bytes; throws <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> Data => Writable;

    /// <summary>Length in bytes.</summary>
    public int Length => _length;

    /// <summary>The bytes, for the read that fills them.</summary>
    internal Memory<byte> Writable
    {
        get
        {
            ObjectDisposedException.ThrowIf(_array is null, this);
            return _array.AsMemory(0, _length);
        }
    }

    /// <summary>Shortens the exposed bytes to the first <paramref name="length"/> (a file decrypted in place).</summary>
    internal void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _length);
        _length = length;
    }

    /// <summary>Returns the array to the pool (once).</summary>
    public void Dispose()
    {
        var array = _array;
        _array = null;
        if (array is not null && _pooled)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
