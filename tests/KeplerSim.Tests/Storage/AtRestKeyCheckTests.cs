using System.Text;
using KeplerSim.Sim.Kernel;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// The store's record of its at-rest key (chunks/keycheck): a damaged record stops the start and is never
/// overwritten, and a refused key says what the record holds and what to do. For the ChunkStore.AtRest.cs and
/// ChunkStoreEvents.cs survivors of the eighth session's Stryker run (docs/mutation/storage-survivors-2026-12-07.tsv).
/// </summary>
[Trait("Category", "Fast")]
public sealed class AtRestKeyCheckTests
{
    private static readonly AtRestKey KeyA = KeyOf(21);
    private static readonly AtRestKey KeyB = KeyOf(22);

    private static AtRestKey KeyOf(byte fill) => new(Enumerable.Repeat(fill, AtRestKey.KeySizeBytes).ToArray());

    private static string RecordOf(AtRestKey key) => "v1 " + Convert.ToHexStringLower(key.CheckValue) + "\n";

    private static ReportOrError Recover(Simulation sim, SimNode node, AtRestKey? key)
    {
        node.Restart();
        try
        {
            Run(sim, node, rt => new ChunkStore(rt with { AtRestKey = key }).RecoverAsync(new MemoryChunkIndex()),
                "recover");
            return new ReportOrError(null);
        }
        catch (AtRestKeyException error)
        {
            return new ReportOrError(error.Message);
        }
    }

    private static void Put(Simulation sim, SimNode node, string path, byte[] bytes) => Run(sim, node, async rt =>
    {
        await using var file = await rt.Disk.CreateAsync(path);
        await file.AppendAsync(bytes);
        await file.FsyncAsync();
        return true;
    }, "put " + path);

    private static (Simulation Sim, SimNode Node) StoreKeyedWithA(ulong seed)
    {
        var (sim, node) = SimHarness.OneIdleNode(seed);
        var recorded = new List<AtRestKeyRecordedEvent>();
        node.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is AtRestKeyRecordedEvent r)
            {
                recorded.Add(r);
            }
        });
        Run(sim, node, rt => new ChunkStore(rt with { AtRestKey = KeyA }).RecoverAsync(new MemoryChunkIndex()),
            "first start with key A");
        // Kills ChunkStoreEvents.cs:44 (the event's kind, which the node's event log and metrics carry, emptied).
        var announced = Assert.Single(recorded);
        Assert.Equal(("chunk.at_rest_key_recorded", KeyA.IdHex), (announced.Kind, announced.KeyId));
        Assert.Equal(RecordOf(KeyA), Encoding.ASCII.GetString(node.Disk.Peek(ChunkStore.KeyCheckPath)!));
        return (sim, node);
    }

    public static TheoryData<string, string> Damages => new()
    {
        // Kills ChunkStore.AtRest.cs:70-71 (the damaged record's throw removed or its message emptied: every damage
        // below was then reported as another key, which tells the operator to find a key rather than the record).
        { "one byte short", RecordOf(KeyA)[..^2] + "\n" },
        // Kills :68 the last `||` as `&&` (a record starting with "v1 " but without its newline was read as a key
        // check).
        { "no newline", RecordOf(KeyA)[..^1] + "x" },
        // Kills :68 the first `||` as `&&` (a complete record of another version was read as a key check).
        { "another version", "v2 " + RecordOf(KeyA)[3..] },
        // Kills :66 `length == 68 ? ... : ...` as always reading (a valid record with bytes appended was accepted:
        // its first 68 bytes are key A's record, so the store started).
        { "bytes appended", RecordOf(KeyA) + "junk" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void A_damaged_key_check_stops_the_start_and_is_left_as_it_is(string damage, string record)
    {
        var (sim, node) = StoreKeyedWithA(140);
        using var _ = sim;
        var bytes = Encoding.ASCII.GetBytes(record);
        Put(sim, node, ChunkStore.KeyCheckPath, bytes);

        var outcome = Recover(sim, node, KeyA);
        Assert.Equal(new ReportOrError($"{ChunkStore.KeyCheckPath} is damaged ({bytes.Length} bytes): it records " +
            "which at-rest key the chunks are sealed with; restore it, or delete it to accept the configured key"),
            outcome);
        Assert.True(bytes.AsSpan().SequenceEqual(node.Disk.Peek(ChunkStore.KeyCheckPath)), damage);
    }

    [Fact]
    public void A_refused_key_says_what_the_store_records_and_what_to_do()
    {
        // Kills ChunkStore.AtRest.cs:40 ×2, :41 (the missing key's message parts emptied) and :48, :49 (the other
        // key's). An operator reads these to find the right key.
        var (sim, node) = StoreKeyedWithA(141);
        using var _ = sim;
        var check = RecordOf(KeyA).Trim();
        Assert.Equal(new ReportOrError($"this node's chunks are encrypted at rest ({ChunkStore.KeyCheckPath} records " +
            $"key check {check}) but no at-rest key is configured: start it with that key; nothing was changed"),
            Recover(sim, node, null));
        Assert.Equal(new ReportOrError($"the configured at-rest key (id {KeyB.IdHex}) is not the key this node's " +
            $"chunks are encrypted with ({ChunkStore.KeyCheckPath} records another key check): start it with the " +
            "key it was written with; nothing was changed"), Recover(sim, node, KeyB));
        Assert.Equal(new ReportOrError(null), Recover(sim, node, KeyA));
    }

    /// <summary>A recovery's outcome: null if the store started, else the refusal's message.</summary>
    private sealed record ReportOrError(string? Error);
}
