using System.IO.Hashing;
using System.Text;

namespace KeplerSim.Core.Ring;

/// <summary>
/// Where chunks and other keys sit on the ring: a position in [0, 2^64), clockwise is increasing (wrapping at
/// 2^64). Both mappings are stable across processes and .NET versions; changing either would move data.
/// </summary>
public static class RingPosition
{
    /// <summary>Characters in a chunk id: SHA-256 as lowercase hex.</summary>
    public const int ChunkIdLength = 64;

    // Hex digits of the chunk id that make up the 64-bit position (its first 8 bytes).
    private const int PositionHexDigits = 16;

    // Separates key positions from any other XxHash3 use of the same bytes.
    private const long KeySeed = 0x4B52_494E_474B_4559L;

    /// <summary>
    /// The position of a chunk: the first 8 bytes of its SHA-256 id, big-endian. The id is already a uniform hash,
    /// so hashing it again would add cost and nothing else.
    /// </summary>
    /// <exception cref="ArgumentException">The id is not 64 lowercase hex characters.</exception>
    public static ulong OfChunk(string chunkId)
    {
        ArgumentNullException.ThrowIfNull(chunkId);
        if (chunkId.Length != ChunkIdLength)
        {
            throw new ArgumentException(
                $"chunk id has {chunkId.Length} characters: expected {ChunkIdLength} lowercase hex", nameof(chunkId));
        }

        ulong position = 0;
        for (var i = 0; i < ChunkIdLength; i++)
        {
            var digit = HexDigit(chunkId[i]);
            if (digit < 0)
            {
                throw new ArgumentException(
                    $"chunk id has '{chunkId[i]}' at index {i}: expected lowercase hex", nameof(chunkId));
            }

            if (i < PositionHexDigits)
            {
                position = (position << 4) | (uint)digit;
            }
        }

        return position;
    }

    /// <summary>The position of an arbitrary key: XxHash3 of its UTF-8 bytes.</summary>
    public static ulong OfKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return OfKey(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>The position of an arbitrary key given as bytes: XxHash3 of the bytes.</summary>
    public static ulong OfKey(ReadOnlySpan<byte> key) => XxHash3.HashToUInt64(key, KeySeed);

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };
}
