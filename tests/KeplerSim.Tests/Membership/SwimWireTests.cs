using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;
using MessagePack;

namespace KeplerSim.Tests.Membership;

[Trait("Category", "Fast")]
public sealed class SwimWireTests
{
    private static readonly MessagePackSerializerOptions Wire = MessagePackSerializerOptions.Standard
        .WithSecurity(MessagePackSecurity.UntrustedData);

    [Fact]
    public void Malformed_datagrams_and_frames_are_counted_and_ignored()
    {
        using var cluster = SwimCluster.Create(5, seed: 3);
        cluster.RunUntilConverged(10 * SimHarness.Second);
        var target = cluster.Nodes[0];
        var attacker = cluster.Nodes[1];
        var payloads = HostilePayloads(new DeterministicRandom(99)).ToList();
        cluster.Sim.Await(attacker.Spawn(runtime =>
        {
            foreach (var payload in payloads)
            {
                runtime.Datagrams.Send(target.GossipAddress, payload);
            }

            return Task.CompletedTask;
        }), "the hostile datagrams to be sent");
        cluster.Sim.Await(attacker.Spawn(async runtime =>
        {
            using var connection = await runtime.Streams.ConnectAsync(target.TransferAddress);
            await connection.SendAsync(new byte[] { 0xC1, 0x53, 0x01, 0x93, 0xFF, 0x00 });
            Assert.Null(await connection.ReceiveAsync());
        }), "a hostile push-pull frame to be refused");
        cluster.Sim.RunFor(SimHarness.Second);

        Assert.Equal(payloads.Count + 1, cluster.Swim(target).Counters.Malformed);
        cluster.Sim.RunFor(30 * SimHarness.Second);
        Assert.True(cluster.Converged(), "the cluster is unaffected");
        Assert.DoesNotContain(cluster.Observations, o => o.Member.Status != MemberStatus.Alive);
    }

    private static IEnumerable<byte[]> HostilePayloads(DeterministicRandom random)
    {
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.NextInt(1400)];
            random.NextBytes(bytes);
            if (i % 2 == 0 && bytes.Length >= 3)
            {
                SwimCodec.Magic.CopyTo(bytes); // Past the magic check, into the decoder.
            }

            yield return bytes;
        }

        yield return [];
        yield return Framed(new SwimDatagram(new SwimPing(1, "", "x"), null));
        yield return Framed(new SwimDatagram(null, [new AliveUpdate("n9", 0, "n9", 0, "n9", 5000, null)]));
        yield return Framed(new SwimDatagram(null, [new SuspectUpdate("n9", -1, "n2")]));
        yield return Framed(new SwimDatagram(null,
            [new AliveUpdate("n9", 0, "n9", 4000, "n9", 5000, new byte[SwimCodec.MetadataBytesMax + 1])]));
        yield return Framed(new SwimDatagram(null, [null!]));
        yield return [.. Framed(new SwimDatagram(new SwimAck(1), null)), 0x00];
    }

    private static byte[] Framed(SwimDatagram datagram) =>
        [.. SwimCodec.Magic, .. MessagePackSerializer.Serialize(datagram, Wire)];

    [Fact]
    public void An_assembled_datagram_decodes_like_a_serialized_one()
    {
        var ping = new SwimPing(42, "n2", "n1");
        MemberUpdate[] updates =
        [
            new AliveUpdate("n3", 7, "n3", 4000, "n3", 5000, [1, 2, 3]),
            new SuspectUpdate("n4", 1, "n1"),
            new DeadUpdate("n5", 2, "n5"),
        ];
        var assembled = SwimCodec.AssembleDatagram(SwimCodec.EncodeMessage(ping),
            updates.Select(SwimCodec.EncodeUpdate).ToList());
        // Without settings the datagram keeps its two fields (the serializer writes the optional third as nil).
        var serialized = Framed(new SwimDatagram(ping, updates));
        Assert.Equal(0xC0, serialized[^1]);
        Assert.Equal([.. serialized[..3], 0x92, .. serialized[4..^1]], assembled);
        var settings = new ClusterSettings(2, 3, "n1");
        Assert.Equal(Framed(new SwimDatagram(ping, updates, settings)), SwimCodec.AssembleDatagram(
            SwimCodec.EncodeMessage(ping), updates.Select(SwimCodec.EncodeUpdate).ToList(),
            SwimCodec.EncodeSettings(settings)));

        var decoded = SwimCodec.TryDecodeDatagram(assembled, out var error);
        Assert.Null(error);
        Assert.Equal(ping, decoded!.Message);
        Assert.Equal(3, decoded.Updates!.Length);
        Assert.Equal(updates[1], decoded.Updates[1]);
        Assert.True(SwimMember.IsSwimFrame(assembled));
        Assert.False(SwimMember.IsSwimFrame(MessagePackSerializer.Serialize(ping, Wire)));
    }

    [Fact]
    public void The_overhead_estimate_covers_many_updates()
    {
        var message = SwimCodec.EncodeMessage(new SwimAck(long.MaxValue));
        var updates = Enumerable.Range(0, 40).Select(i => SwimCodec.EncodeUpdate(new SuspectUpdate($"n{i}", i, "n1")))
            .ToList();
        var bytes = SwimCodec.AssembleDatagram(message, updates);
        Assert.True(bytes.Length <= SwimCodec.OverheadBytes(message) + updates.Sum(u => u.Length));
    }

    [Fact]
    public void Limits_relate()
    {
        Assert.True(SwimMember.MembersMax <= SwimCodec.PushPullMembersMax, "push-pull can list every member");
        Assert.True(SwimMember.PiggybackUpdatesMax <= SwimCodec.UpdatesPerDatagramMax,
            "a receiver accepts everything a sender piggybacks");
        Assert.True(SwimMember.PiggybackUpdatesMax < 1 << 16, "the updates header fits in array16");

        // The largest alive update, with a ping, fits the simulator's MTU.
        var id = new string('x', SwimCodec.NodeIdCharsMax);
        var host = new string('h', 64);
        var alive = new AliveUpdate(id, long.MaxValue, host, 65535, host, 65535, new byte[SwimCodec.MetadataBytesMax]);
        var ping = SwimCodec.EncodeMessage(new SwimPing(long.MaxValue, id, id));
        var bytes = SwimCodec.OverheadBytes(ping) + SwimCodec.EncodeUpdate(alive).Length;
        Assert.True(bytes <= new NetworkFaults().MtuBytes);
    }

    [Fact]
    public void Default_options_are_memberlists_lan_defaults_and_validate()
    {
        var options = new SwimOptions();
        options.Validate();
        Assert.Equal(1_000_000, options.ProbeIntervalMicroseconds);
        Assert.Equal(500_000, options.ProbeTimeoutMicroseconds);
        Assert.Equal(3, options.IndirectChecks);
        Assert.Equal(4, options.SuspicionMultiplier);
        Assert.Equal(6, options.SuspicionMaxTimeoutMultiplier);
        Assert.Equal(200_000, options.GossipIntervalMicroseconds);
        Assert.Equal(3, options.GossipNodes);
        Assert.Equal(4, options.RetransmitMultiplier);
        Assert.Equal(30_000_000, options.PushPullIntervalMicroseconds);
        Assert.Throws<ArgumentException>(() => (options with { ProbeTimeoutMicroseconds = 2_000_000 }).Validate());
        Assert.Throws<ArgumentException>(() => (options with { GossipNodes = 0 }).Validate());
    }
}
