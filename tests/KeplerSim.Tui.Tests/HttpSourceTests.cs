using System.Net;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;
using KeplerSim.Tui.Views;

namespace KeplerSim.Tui.Tests;

/// <summary>A fake node API: each URL maps to a response (or a failure); anything else is 404.</summary>
internal sealed class FakeNodes : HttpMessageHandler
{
    private readonly Dictionary<string, Func<HttpResponseMessage>> _routes = new(StringComparer.Ordinal);

    public void Json(string url, string body) => _routes[url] = () => new HttpResponseMessage(HttpStatusCode.OK)
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
    };

    public void Bytes(string url, byte[] body) => _routes[url] = () => new HttpResponseMessage(HttpStatusCode.OK)
    {
        Content = new ByteArrayContent(body),
    };

    public void Status(string url, HttpStatusCode status) => _routes[url] = () => new HttpResponseMessage(status);

    public void Refuse(string prefix) => _routes[prefix] = () => throw new HttpRequestException("Connection refused");

    /// <summary>A healthy node: status, members (all three), ring, replication, metrics; no event stream.</summary>
    public void Healthy(string id, int n, string progress = "null")
    {
        var url = $"http://127.0.0.1:300{n}/";
        Json(url + "api/status", $$"""
            {"nodeId":"{{id}}","ready":true,"http":"{{url}}","gossip":"127.0.0.1:400{{n}}","queueDepth":3}
            """);
        Json(url + "api/members", """
            [{"id":"a","gossip":"127.0.0.1:4001","transfer":"127.0.0.1:5001","state":"alive","self":true},
             {"id":"b","gossip":"127.0.0.1:4002","transfer":"127.0.0.1:5002","state":"alive","self":false},
             {"id":"c","gossip":"127.0.0.1:4003","transfer":"127.0.0.1:5003","state":"alive","self":false}]
            """);
        Json(url + "api/ring", """
            {"replicationFactor":3,"virtualNodes":1536,"nodes":[{"id":"a","share":1.0},{"id":"b","share":1.0},
             {"id":"c","share":1.0}]}
            """);
        Json(url + "api/replication", $$"""{"queueDepth":3,"progress":{{progress}},"underReplicated":null}""");
        Json(url + "metrics", "# HELP x\nkepler_chunks_stored 42\n");
        Json(url + "api/files/?limit=1024", """{"prefix":"","files":[{"path":"x"},{"path":"y"}]}""");
        Json(url + "api/under-replicated?limit=50", """
            {"replicationTarget":3,"total":0,"referencedChunks":5,"chunks":[],"next":null,"truncated":false}
            """);
        Status(url + "api/events", HttpStatusCode.NotFound);
    }

    /// <summary>The Authorization header of every request, in order (null: none).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string?> Authorizations { get; } = new();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
    {
        Authorizations.Enqueue(request.Headers.Authorization?.ToString());
        var url = request.RequestUri!.ToString();
        var route = _routes.GetValueOrDefault(url)
            ?? _routes.Where(r => url.StartsWith(r.Key, StringComparison.Ordinal)).Select(r => r.Value)
                .FirstOrDefault();
        return Task.FromResult(route is null ? new HttpResponseMessage(HttpStatusCode.NotFound) : route());
    }
}

/// <summary>The real-cluster source against a fake API: discovery, a node down, garbage of every kind.</summary>
[Trait("Category", "Fast")]
public sealed class HttpSourceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static HttpClusterSource Source(FakeNodes nodes) =>
        new(new Uri("http://127.0.0.1:3001/"), nodes, ImmediateScheduler.Instance, TimeProvider.System);

    private static MemberRow Row(MonitorViewModel vm, string id) => vm.State.Members.Single(m => m.Id == id);

    [Fact]
    public async Task Discovers_the_other_nodes_and_shows_one_down_and_one_answering_garbage()
    {
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1, """{"chunksLeft":12,"bytesLeft":1200,"chunksPerSecond":3.5,"etaMicroseconds":4000000}""");
        nodes.Json("http://127.0.0.1:3002/api/status", "{{{ not json");
        nodes.Refuse("http://127.0.0.1:3003/");
        using var source = Source(nodes);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        await source.PollOnceAsync(CancellationToken.None);          // a answers, b and c are discovered
        await source.PollOnceAsync(CancellationToken.None);          // b and c are polled
        Assert.Equal(["a", "b", "c"], vm.State.Members.Select(m => m.Id));
        Assert.Equal("ok", Row(vm, "a").Health);
        Assert.StartsWith("garbage:", Row(vm, "b").Health, StringComparison.Ordinal);
        Assert.StartsWith("unreachable:", Row(vm, "c").Health, StringComparison.Ordinal);
        Assert.All(vm.State.Members, m => Assert.Equal(MemberState.Alive, m.State));   // as a's list says
        Assert.Equal(42, vm.State.Ring.Single(r => r.Id == "a").StoredChunks);
        Assert.Equal(2, vm.State.Replication.FileCount);
        Assert.Equal(new RepairProgress(12, 1200, 3.5, 4_000_000), vm.State.Replication.Progress);
        Assert.Equal(3, vm.State.Replication.QueueDepths.Single(q => q.Node == "a").Depth);
        Assert.Null(vm.State.Status);
    }

    [Fact]
    public async Task A_token_is_sent_to_every_node_and_discovered_nodes_keep_the_seed_scheme()
    {
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1);
        using var source = new HttpClusterSource(new Uri("http://127.0.0.1:3001/"), nodes, ImmediateScheduler.Instance,
            TimeProvider.System, token: "monitor-secret-0123456789");
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        await source.PollOnceAsync(CancellationToken.None);
        await source.PollOnceAsync(CancellationToken.None);
        Assert.True(nodes.Authorizations.Count > 5, "several requests were made");
        Assert.All(nodes.Authorizations, a => Assert.Equal("Bearer monitor-secret-0123456789", a));

        // A cluster behind TLS: a member found by the port offset is reached over https too.
        var lister = new NodeProbe(new Uri("https://127.0.0.1:3001/")) { HttpPort = 3001, GossipPort = 4001 };
        Assert.Equal(new Uri("https://127.0.0.1:3002/"),
            HttpClusterSource.HttpUrl(lister, new ListedMember("b", "127.0.0.1:4002", null, "alive", 0)));
    }

    [Fact]
    public async Task Chunks_by_copies_and_under_replicated_chunks_come_from_every_nodes_report()
    {
        // The Files page used to print "chunks by copies: n/a (the node API has no such query)" on a real cluster.
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1);
        nodes.Healthy("b", 2);
        nodes.Refuse("http://127.0.0.1:3003/");
        nodes.Json("http://127.0.0.1:3001/api/under-replicated?limit=50", """
            {"replicationTarget":3,"total":2,"referencedChunks":10,"next":null,"truncated":false,
             "chunks":[{"chunkId":"aaaa","copies":2,"missing":["c"]},{"chunkId":"bbbb","copies":1,"missing":["b","c"]}]}
            """);
        nodes.Json("http://127.0.0.1:3002/api/under-replicated?limit=50", """
            {"replicationTarget":3,"total":1,"referencedChunks":10,"next":null,"truncated":false,
             "chunks":[{"chunkId":"bbbb","copies":2,"missing":["c"]}]}
            """);
        using var source = Source(nodes);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        await source.PollOnceAsync(CancellationToken.None);
        await source.PollOnceAsync(CancellationToken.None);
        var replication = vm.State.Replication;
        Assert.Equal(2, replication.UnderReplicatedCount);
        Assert.Equal(["aaaa (2/3)", "bbbb (1/3)"], replication.UnderReplicated);
        // bbbb counts once, with the fewest copies any node knows of; the other 8 referenced chunks have N.
        Assert.Equal([(1, 1L), (2, 1L), (3, 8L)], replication.ChunksByReplicas);
    }

    [Fact]
    public async Task The_files_page_shows_the_replication_target_against_the_actual_copies()
    {
        // Issue 18 point 4: after a runtime replication factor change the TUI shows target and actual.
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1);
        nodes.Healthy("b", 2);
        nodes.Refuse("http://127.0.0.1:3003/");
        Status(nodes, "a", 1, """{"factor":2,"version":1,"origin":"a","target":2,"underReplicatedChunks":0}""");
        Status(nodes, "b", 2, """{"factor":3,"version":0,"origin":null,"target":3,"underReplicatedChunks":0}""");
        using var source = Source(nodes);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        await source.PollOnceAsync(CancellationToken.None);
        await source.PollOnceAsync(CancellationToken.None);
        Assert.Equal("nodes disagree (a change is spreading): a=2@v1 b=3", vm.State.Replication.FactorSource);

        Status(nodes, "b", 2, """{"factor":2,"version":1,"origin":"a","target":2,"underReplicatedChunks":0}""");
        await source.PollOnceAsync(CancellationToken.None);
        Assert.Equal(2, vm.State.Replication.TargetCopies);
        Assert.Equal("factor 2, set at runtime: version 1 from a", vm.State.Replication.FactorSource);
        // The fake nodes report no under-replicated chunk of 5: all have N = 3 copies, one more than the target.
        var line = Pages.Build(Page.Files, vm, 40).Select(l => l.ToString())
            .Single(t => t.StartsWith("replication target", StringComparison.Ordinal));
        Assert.Equal("replication target: 2 copies (factor 2, set at runtime: version 1 from a) - actual: 5 chunk(s) " +
            "above 2 (surplus not trimmed yet)", line);
    }

    private static void Status(FakeNodes nodes, string id, int n, string replication) =>
        nodes.Json($"http://127.0.0.1:300{n}/api/status", $$"""
            {"nodeId":"{{id}}","ready":true,"http":"http://127.0.0.1:300{{n}}/","gossip":"127.0.0.1:400{{n}}",
             "replication":{{replication}}}
            """);

    [Fact]
    public async Task Counts_files_by_following_the_listing_cursor_and_marks_a_lower_bound()
    {
        // The TUI used to read one listing page and call a full one "at least 1024" (issue 18: listing cursor).
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1);
        nodes.Json("http://127.0.0.1:3001/api/files/?limit=1024",
            """{"prefix":"","files":[{"path":"x"},{"path":"y"}],"next":"y","truncated":true}""");
        nodes.Json("http://127.0.0.1:3001/api/files/?limit=1024&after=y",
            """{"prefix":"","files":[{"path":"z"}],"next":null,"truncated":false}""");
        nodes.Refuse("http://127.0.0.1:3002/");
        nodes.Refuse("http://127.0.0.1:3003/");
        using var source = Source(nodes);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        await source.PollOnceAsync(CancellationToken.None);
        Assert.Equal(3, vm.State.Replication.FileCount);
        Assert.False(vm.State.Replication.FileCountIsLowerBound, "the cursor ran out: the count is exact");

        // A listing that is still truncated after FilePagesMax pages is only a lower bound.
        nodes.Json("http://127.0.0.1:3001/api/files/?limit=1024&after=y",
            """{"prefix":"","files":[{"path":"z"}],"next":"y","truncated":true}""");
        await source.PollOnceAsync(CancellationToken.None);
        Assert.Equal(2 + HttpClusterSource.FilePagesMax - 1, vm.State.Replication.FileCount);
        Assert.True(vm.State.Replication.FileCountIsLowerBound, "the listing was still truncated");
    }

    [Theory]
    [InlineData("""{"nodeId":17}""")]                              // wrong type
    [InlineData("""[]""")]                                         // not an object
    [InlineData("""{"nodeId":"a","http":"::::","gossip":"x:y:z:99999"}""")]   // nonsense addresses
    [InlineData("null")]
    [InlineData("")]
    public async Task Garbage_status_is_reported_not_thrown(string body)
    {
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1);
        nodes.Json("http://127.0.0.1:3001/api/status", body);
        nodes.Json("http://127.0.0.1:3001/api/members", """[{"id":"a","gossip":17},{"nope":1}]""");
        using var source = Source(nodes);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        await source.PollOnceAsync(CancellationToken.None);
        Assert.StartsWith("no node answers: garbage:", vm.State.Status, StringComparison.Ordinal);
        Assert.Empty(vm.State.Members);
    }

    [Fact]
    public async Task Oversized_response_and_server_error_are_reported()
    {
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1);
        nodes.Bytes("http://127.0.0.1:3001/metrics", new byte[HttpClusterSource.ResponseBytesMax + 1]);
        using var source = Source(nodes);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        await source.PollOnceAsync(CancellationToken.None);
        Assert.Contains("over", vm.State.Status, StringComparison.Ordinal);
        nodes.Status("http://127.0.0.1:3001/api/ring", HttpStatusCode.InternalServerError);
        await source.PollOnceAsync(CancellationToken.None);
        Assert.Contains("HTTP 500", vm.State.Status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Event_stream_garbage_is_counted_and_real_events_still_arrive()
    {
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1);
        var stream = new StringBuilder()
            .Append(": connected\n\n")
            .Append("this is not sse\n")
            .Append(new string('x', HttpClusterSource.EventLineCharsMax * 2)).Append('\n')
            .Append("event: member.suspect\ndata: {not json\n\n")
            .Append("event: member.suspect\ndata: {\"data\":{}}\n\n")
            .Append("event: member.suspect\n")
            .Append("data: {\"kind\":\"member.suspect\",")
            .Append("\"data\":{\"member\":\"c\",\"incarnation\":4,\"from\":\"a\"}}\n\n")
            .Append("\u0000\u0001\u00ff garbage at the end without a newline");
        nodes.Bytes("http://127.0.0.1:3001/api/events", Encoding.UTF8.GetBytes(stream.ToString()));
        using var source = Source(nodes);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        var suspect = source.Events.FirstAsync(e => e.Kind == "member.suspect").ToTask();
        await source.PollOnceAsync(CancellationToken.None);
        var e = await suspect.WaitAsync(Bound);                        // bounded wait for the stream's event
        Assert.Equal("c", e.Field("member"));
        Assert.Equal("a", e.Node);
        await source.PollOnceAsync(CancellationToken.None);
        Assert.Equal(MemberState.Suspect, Row(vm, "c").State);
        Assert.Equal(4, Row(vm, "c").Incarnation);
        // Five bad things per read of the stream (it ends, and the second poll reads it again).
        var bad = System.Text.RegularExpressions.Regex.Match(Row(vm, "a").Health, @"^ok \((\d+) bad events\)$");
        Assert.True(bad.Success, Row(vm, "a").Health);
        Assert.True(int.Parse(bad.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 5);
    }

    [Fact]
    public void Http_address_comes_from_the_listing_nodes_port_offset()
    {
        var lister = new NodeProbe(new Uri("http://127.0.0.1:3001/")) { HttpPort = 3001, GossipPort = 4001 };
        Assert.Equal(new Uri("http://127.0.0.1:3003/"),
            HttpClusterSource.HttpUrl(lister, new ListedMember("c", "127.0.0.1:4003", null, "alive", 0)));
        Assert.Equal(new Uri("http://10.0.0.9:8080/"),
            HttpClusterSource.HttpUrl(lister, new ListedMember("d", "x:1", "http://10.0.0.9:8080/", "alive", 0)));
        Assert.Null(HttpClusterSource.HttpUrl(lister, new ListedMember("e", "no-port", null, "alive", 0)));
        Assert.Null(HttpClusterSource.HttpUrl(lister, new ListedMember("f", "h:1", null, "alive", 0)));  // port < 1
    }
}
