using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;
using KeplerSim.Tests.Transfer;

namespace KeplerSim.Tests.Node;

/// <summary>
/// A read that misses locally asks its peers for the path's manifest (docs/PROTOCOL.md, "Reads"); a peer's answer
/// is input like any other. A peer that answers with a manifest of <b>another</b> path (a bug, or a corrupt row on
/// its side) must not make this node serve that file's bytes under the asked name, nor record it (read repair
/// applies what it takes). Written for the Stryker survivor KeplerNode.Read.cs:180 (`manifest.Path == path ?
/// manifest : null` mutated to always take the answer; docs/mutation/node-survivors-2026-12-06.tsv).
/// </summary>
[Trait("Category", "Fast")]
public sealed class PeerManifestReplyTests
{
    private static readonly KeplerOptions Options = new() { ChunkSizeBytes = 1024 };

    [Fact]
    public void A_peer_answering_with_another_paths_manifest_is_not_taken_for_the_asked_path()
    {
        using var sim = new Simulation(new SimulationOptions { Seed = 17 });
        var other = Manifest.Create(FilePath.Parse("b/other.txt"), 0, [], 1024,
            new VersionToken(1, 0, new NodeId("fake")), new NodeId("fake"));
        var asked = new List<string>();
        var n1 = sim.AddNode("n1", r => SimKeplerNode.Create(r, Options, MembershipMode.Static, ["fake"]));
        var wrong = ManifestCodec.Encode(other);
        sim.AddNode("fake", r => new FakePeer(r, async connection =>
        {
            // Every manifest request is answered with the other path's manifest, whatever path was asked.
            while (await connection.ReceiveAsync() is { } bytes
                && FrameCodec.Decode(bytes) is GetManifestRequest asking)
            {
                asked.Add(asking.Path);
                await connection.SendAsync(new GetManifestReply(wrong));
            }
        }));
        sim.Nodes.ToList().ForEach(n => n.Start());
        sim.Await(n1.Spawn(_ => Kepler(n1).Ready), "n1 to recover and start");

        Assert.Throws<FileNotFoundInClusterException>(() =>
            sim.Await(n1.Spawn(_ => Kepler(n1).StatAsync("a/asked.txt")), "the stat of a/asked.txt"));
        Assert.Equal(["a/asked.txt"], asked);
        var listing = sim.Await(n1.Spawn(_ => Kepler(n1).ListAsync("")), "n1's listing");
        Assert.True(listing.Files.Count == 0,
            "n1 recorded the wrong path's manifest: " + string.Join(", ", listing.Files.Select(f => f.Path)));
    }

    private static KeplerNode Kepler(SimNode node) => (KeplerNode)node.Program!;
}
