using System.IO.Hashing;
using System.Text;

namespace KeplerSim.Core.Runtime;

/// <summary>
/// xoshiro256** seeded through SplitMix64. Our own generator, so a seed means the same sequence on every .NET
/// version (System.Random makes no such promise).
/// </summary>
public sealed class DeterministicRandom : IRandom
{
    private readonly ulong _seed;
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates a generator whose whole sequence is fixed by <paramref name="seed"/>.</summary>
    public DeterministicRandom(ulong seed)
    {
        _seed = seed;
        var x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The seed this generator was created with.</summary>
    public ulong Seed => _seed;

    /// <inheritdoc />
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <inheritdoc />
    public int NextInt(int maxExclusive)
    {
        Invariant.That(maxExclusive > 0, "NextInt needs a positive bound");
        return (int)NextBelow((ulong)maxExclusive);
    }

    /// <inheritdoc />
    public long NextLong(long minInclusive, long maxExclusive)
    {
        Invariant.That(maxExclusive > minInclusive, "NextLong needs max > min");
        return minInclusive + (long)NextBelow((ulong)(maxExclusive - minInclusive));
    }

    /// <inheritdoc />
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <inheritdoc />
    public bool Chance(double probability) => probability > 0 && (probability >= 1 || NextDouble() < probability);

    /// <inheritdoc />
    public void NextBytes(Span<byte> buffer)
    {
        while (buffer.Length >= 8)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buffer, NextUInt64());
            buffer = buffer[8..];
        }

        if (buffer.Length > 0)
        {
            Span<byte> last = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(last, NextUInt64());
            last[..buffer.Length].CopyTo(buffer);
        }
    }

    /// <inheritdoc />
    public IRandom Fork(string label) => new DeterministicRandom(Derive(_seed, label));

    /// <summary>A sub-seed for <paramref name="label"/>, fixed by <paramref name="seed"/> alone.</summary>
    public static ulong Derive(ulong seed, string label)
    {
        var x = seed ^ XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(label), seed: 0x4B45504C4552L);
        return SplitMix64(ref x);
    }

    private ulong NextBelow(ulong bound)
    {
        // Lemire's nearly divisionless method: unbiased.
        var product = Math.BigMul(NextUInt64(), bound, out var low);
        if (low < bound)
        {
            var threshold = (0 - bound) % bound;
            while (low < threshold)
            {
                product = Math.BigMul(NextUInt64(), bound, out low);
            }
        }

        return product;
    }

    private static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
