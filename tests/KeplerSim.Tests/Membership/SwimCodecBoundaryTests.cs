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

    [Fact]
    public void A_ping_request_must_name_a_valid_target_id_host_and_port()
    {
        // Kills in SwimCodec.cs: the ping-req check made always true and each "&&" of it as "||" (191), hosts up to
        // HostCharsMax (266: "<=" as "<") and ports up to 65535 (268): a relay must not ping an empty or oversized
        // host or port 0 for a stranger, nor refuse the largest legal ones.
        var longestHost = new string('h', SwimCodec.HostCharsMax);
        Assert.Null(Decode(Request(LongestId, longestHost, 65535)));
        Assert.Null(Decode(Request("a", "h", 1)));
        Assert.Equal("bad ping-req target", Decode(Request("", "h", 7946)));
        Assert.Equal("bad ping-req target", Decode(Request(TooLongId, "h", 7946)));
        Assert.Equal("bad ping-req target", Decode(Request("a", "", 7946)));
        Assert.Equal("bad ping-req target", Decode(Request("a", longestHost + "h", 7946)));
        Assert.Equal("bad ping-req target", Decode(Request("a", "h", 0)));
        Assert.Equal("bad ping-req target", Decode(Request("a", "h", 65536)));
    }

    [Fact]
    public void An_alive_update_needs_valid_addresses_and_at_most_the_metadata_limit()
    {
        // Kills in SwimCodec.cs: the transfer address check's "||" as "&&" (247: a bad host with a good port, or the
        // reverse, passed), the metadata limit's "> MetadataBytesMax" as ">=" (252), host and port limits (266, 268).
        var longestHost = new string('h', SwimCodec.HostCharsMax);
        Assert.Null(SwimCodec.Validate(new AliveUpdate("a", 0, longestHost, 65535, longestHost, 65535,
            new byte[SwimCodec.MetadataBytesMax])));
        Assert.Equal("metadata too large", SwimCodec.Validate(new AliveUpdate("a", 0, "h", 1, "h", 2,
            new byte[SwimCodec.MetadataBytesMax + 1])));
        Assert.Equal("bad alive gossip address", SwimCodec.Validate(new AliveUpdate("a", 0, longestHost + "h", 1, "h", 2, null)));
        Assert.Equal("bad alive transfer address", SwimCodec.Validate(new AliveUpdate("a", 0, "h", 1, "", 2, null)));
        Assert.Equal("bad alive transfer address", SwimCodec.Validate(new AliveUpdate("a", 0, "h", 1, "h", 0, null)));
        Assert.Equal("bad alive transfer address", SwimCodec.Validate(new AliveUpdate("a", 0, "h", 1, "h", 65536, null)));
    }

    [Fact]
    public void A_death_verdict_needs_a_valid_accuser()
    {
        // Kills in SwimCodec.cs: "ValidId(dead.Node) && ValidId(dead.From)" as "||" (231): a death from an empty or
        // oversized accuser passed (and a verdict from the member itself is a leave).
        Assert.Equal("bad dead", SwimCodec.Validate(new DeadUpdate("a", 0, "")));
        Assert.Equal("bad dead", SwimCodec.Validate(new DeadUpdate("a", 0, TooLongId)));
        Assert.Equal("bad dead", SwimCodec.Validate(new DeadUpdate("", 0, "a")));
    }

    [Fact]
    public void A_push_pull_frame_lists_at_most_its_member_limit_each_valid_with_valid_settings()
    {
        // Kills in SwimCodec.cs: "Length > PushPullMembersMax" as ">=" (207) and each half of
        // "ValidateUpdates(members) ?? ValidateOptional(settings)" removed or the two swapped (208): a push-pull
        // carrying an invalid member, or invalid settings, was merged.
        var settings = new ClusterSettings(1, 1, "a");
        Assert.Null(DecodeFrame(new SwimPushPull(false, false, "a", Updates(SwimCodec.PushPullMembersMax), settings)));
        Assert.Equal("too many members",
            DecodeFrame(new SwimPushPull(false, false, "a", Updates(SwimCodec.PushPullMembersMax + 1))));
        Assert.Equal("bad alive node", DecodeFrame(new SwimPushPull(true, false, "a", [Alive("a", -1)], settings)));
        Assert.Equal("bad settings version",
            DecodeFrame(new SwimPushPull(true, false, "a", [Alive("a", 0)], new ClusterSettings(1, 0, "a"))));
        Assert.Equal("bad alive node",
            DecodeFrame(new SwimPushPull(true, false, "a", [Alive("a", -1)], new ClusterSettings(1, 0, "a"))));
    }

    [Fact]
    public void The_overhead_of_a_datagram_with_settings_counts_the_settings_once()
    {
        // Kills in SwimCodec.cs: "+ (settings?.Length ?? 0)" as "-" and as "+ 0" (48): a member holding settings
        // filled a datagram's budget with updates past the MTU (the "SWIM datagram exceeds the MTU" invariant).
        // With 16 updates or more the updates header takes the reserved three bytes: the overhead is exact.
        var message = SwimCodec.EncodeMessage(new SwimPing(1, "a", "b"));
        var settings = SwimCodec.EncodeSettings(new ClusterSettings(3, 7, LongestId));
        var updates = Updates(16).Select(SwimCodec.EncodeUpdate).ToList();
        var bytes = SwimCodec.AssembleDatagram(message, updates, settings);
        Assert.Equal(SwimCodec.OverheadBytes(message, settings) + updates.Sum(u => u.Length), bytes.Length);
        Assert.Equal(SwimCodec.OverheadBytes(message) + settings.Length, SwimCodec.OverheadBytes(message, settings));
    }

    private static SwimDatagram Request(string target, string host, int port) =>
        new(new SwimPingRequest(1, target, host, port, WantNack: true), []);

    private static string? DecodeFrame(SwimFrame frame)
    {
        var decoded = SwimCodec.TryDecodeFrame(SwimCodec.EncodeFrame(frame), out var error);
        Assert.Equal(error is null, decoded is not null);
        return error;
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
