using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Storage;

/// <summary>What the chunk store tests share: seeded chunk data, running one store call on a simulated node, and
/// disk states and observers several tests need.</summary>
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

    /// <summary>Runs <paramref name="work"/> on <paramref name="node"/> and waits for it (bounded by the harness).
    /// </summary>
    public static T Run<T>(Simulation sim, SimNode node, Func<NodeRuntime, Task<T>> work, string what) =>
        sim.Await(node.Spawn(work), what);

    /// <summary>
    /// A chunk file as an incarnation killed before its directory fsyncs leaves it: its bytes fsync'd, its shard
    /// directories and its name only in the page cache.
    /// </summary>
    public static void PlantUnsyncedCopy(Simulation sim, SimNode node, string id, byte[] data)
    {
        var path = ChunkStore.PathOf(id);
        Run(sim, node, async runtime =>
        {
            await runtime.Disk.CreateDirectoryAsync(path[..path.LastIndexOf('/')]);
            await using var file = await runtime.Disk.CreateAsync(path);
            await file.AppendAsync(data);
            await file.FsyncAsync();
            return true;
        }, "plant a copy");
        Assert.False(node.Disk.IsDurable(path));
    }

    /// <summary>Opens writers until the store has none left (each must open), then abandons them all.</summary>
    public static int OpenEveryWriterSlot(Simulation sim, SimNode node, ChunkStore store) => Run(sim, node, async _ =>
    {
        var writers = new List<ChunkWriter>();
        for (var i = 0; i < ChunkStore.WritersInFlightMax; i++)
        {
            writers.Add(await store.BeginWriteAsync(MakeChunk(1000 + (ulong)i, 10).Id));
        }

        foreach (var writer in writers)
        {
            await writer.DisposeAsync();
        }

        return writers.Count;
    }, "open every writer slot");

    public static List<ChunkCorruptEvent> RecordCorrupt(SimNode node)
    {
        var corrupt = new List<ChunkCorruptEvent>();
        node.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is ChunkCorruptEvent c)
            {
                corrupt.Add(c);
            }
        });
        return corrupt;
    }
}
