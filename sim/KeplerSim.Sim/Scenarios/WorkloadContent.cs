using System.Security.Cryptography;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// The bytes a scenario's puts write and how the ledger names them: the n-th put of a run with a given seed writes
/// the same bytes in the simulator and in real mode, so one file and seed describe the same data both ways.
/// </summary>
public static class WorkloadContent
{
    /// <summary>The content of put number <paramref name="sequence"/> of a run with <paramref name="seed"/>.</summary>
    public static byte[] Bytes(ulong seed, long sequence, long size)
    {
        var bytes = new byte[size];
        new DeterministicRandom(DeterministicRandom.Derive(seed, $"content/{sequence}")).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The lowercase hex SHA-256 the ledger records for <paramref name="data"/>.</summary>
    public static string Hash(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
