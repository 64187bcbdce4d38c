using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Storage;

/// <summary>What the chunk store tests share: seeded chunk data and running one store call on a simulated node.</summary>
internal static class StoreTestKit
{
    /// <summary><paramref name="sizeBytes"/> bytes from <paramref name="random"/>, and their chunk id.</summary>
    public static (string Id, byte[] Data) MakeChunk(IRandom random, int sizeBytes)
    {
        var data = new byte[sizeBytes];
        random.NextBytes(data);
        return (ChunkStore.IdOf(data), data);
    }

    /// <summary><paramref name="sizeBytes"/> bytes drawn from <paramref name="seed"/>, and their chunk id.</summary>
    public static (string Id, byte[] Data) MakeChunk(ulong seed, int sizeBytes) =>
        MakeChunk(new DeterministicRandom(seed), sizeBytes);

    /// <summary>Runs <paramref name="work"/> on <paramref name="node"/> and waits for it (bounded by the harness).</summary>
    public static T Run<T>(Simulation sim, SimNode node, Func<NodeRuntime, Task<T>> work, string what) =>
        sim.Await(node.Spawn(work), what);
}
