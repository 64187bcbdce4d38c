using KeplerSim.Core.Membership;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// The datagram and frame validation at each of its limits: the last legal value decodes, the first illegal one is
/// refused with its reason. Written for the Stryker survivors of SwimCodec.cs (a limit moved by one, an
/// <c>||</c> as <c>&amp;&amp;</c>, a check made always true), which the hostile-payload test did not reach because
/// random bytes rarely decode into a well-formed datagram just past a limit.
/// </summary>
public sealed class SwimCodecBoundaryTests
{
    private static readonly string LongestId = new('n', SwimCodec.NodeIdCharsMax);
    private static readonly string TooLongId = new('n', SwimCodec.NodeIdCharsMax + 1);

    [Fact]
    public void A_datagram_carries_at_most_its_update_limit()
    {
        Assert.Null(Decode(new SwimDatagram(null, Updates(SwimCodec.UpdatesPerDatagramMax))));
        Assert.Equal("too many updates", Decode(new SwimDatagram(null, Updates(SwimCodec.UpdatesPerDatagramMax + 1))));
    }

    [Fact]
    public void Node_ids_may_be_as_long_as_the_limit_and_no_longer()
    {
        Assert.Null(SwimCodec.Validate(new SuspectUpdate(LongestId, 0, LongestId)));
        Assert.Equal("bad suspect", SwimCodec.Validate(new SuspectUpdate(TooLongId, 0, "a")));
        Assert.Equal("bad suspect", SwimCodec.Validate(new SuspectUpdate("a", 0, TooLongId)));
        Assert.Equal("bad suspect", SwimCodec.Validate(new SuspectUpdate("", 0, "a")));
    }

    [Fact]
    public void Incarnations_start_at_zero()
    {
        Assert.Null(SwimCodec.Validate(Alive("a", 0)));
        Assert.Equal("bad alive node", SwimCodec.Validate(Alive("a", -1)));
        Assert.Equal("bad alive node", SwimCodec.Validate(Alive(TooLongId, 0)));
        Assert.Null(SwimCodec.Validate(new DeadUpdate("a", 0, "b")));
        Assert.Equal("bad dead", SwimCodec.Validate(new DeadUpdate("a", -1, "b")));
        Assert.Equal("bad suspect", SwimCodec.Validate(new SuspectUpdate("a", -1, "b")));
    }

    [Fact]
    public void Cluster_settings_are_checked_at_each_bound()
    {
        var max = Core.Ring.RingOptions.ReplicationFactorMax;
        Assert.Null(SwimCodec.Validate(new ClusterSettings(1, 1, "a")));
        Assert.Null(SwimCodec.Validate(new ClusterSettings(max, 1, LongestId)));
        Assert.Equal("bad replication factor", SwimCodec.Validate(new ClusterSettings(0, 1, "a")));
        Assert.Equal("bad replication factor", SwimCodec.Validate(new ClusterSettings(max + 1, 1, "a")));
        Assert.Equal("bad settings version", SwimCodec.Validate(new ClusterSettings(1, 0, "a")));
        Assert.Equal("bad settings origin", SwimCodec.Validate(new ClusterSettings(1, 1, "")));
        Assert.Equal("bad settings origin", SwimCodec.Validate(new ClusterSettings(1, 1, TooLongId)));
    }

    [Fact]
    public void A_datagram_reports_its_first_problem_message_first()
    {
        var badPing = new SwimPing(1, "", "a");
        var badSettings = new ClusterSettings(0, 1, "a");
        Assert.Equal("bad ping ids", Decode(new SwimDatagram(badPing, [Alive("a", -1)], badSettings)));
        Assert.Equal("bad alive node", Decode(new SwimDatagram(null, [Alive("a", -1)], badSettings)));
        Assert.Equal("bad replication factor", Decode(new SwimDatagram(null, [Alive("a", 0)], badSettings)));
    }

    [Fact]
    public void A_stream_ping_must_name_a_valid_target()
    {
        Assert.NotNull(SwimCodec.TryDecodeFrame(SwimCodec.EncodeFrame(new SwimStreamPing(1, LongestId)), out var ok));
        Assert.Null(ok);
        Assert.Null(SwimCodec.TryDecodeFrame(SwimCodec.EncodeFrame(new SwimStreamPing(1, TooLongId)), out var error));
        Assert.Equal("bad stream ping target", error);
    }

    private static AliveUpdate Alive(string node, long incarnation) =>
        new(node, incarnation, "10.0.0.1", 7946, "10.0.0.1", 7947, null);

    private static MemberUpdate[] Updates(int count) =>
        Enumerable.Range(0, count).Select(i => (MemberUpdate)new SuspectUpdate("n" + i, 1, "a")).ToArray();

    private static string? Decode(SwimDatagram datagram)
    {
        var bytes = SwimCodec.AssembleDatagram(datagram.Message is { } m ? SwimCodec.EncodeMessage(m) : null,
            (datagram.Updates ?? []).Select(SwimCodec.EncodeUpdate).ToList(),
            datagram.Settings is { } s ? SwimCodec.EncodeSettings(s) : null);
        var decoded = SwimCodec.TryDecodeDatagram(bytes, out var error);
        Assert.Equal(error is null, decoded is not null);
        return error;
    }
}
