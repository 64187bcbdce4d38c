using System.Net;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;

namespace KeplerSim.Tui.Tests;

/// <summary>
/// The HTTP source over real sockets (an in-process listener on 127.0.0.1): the event stream is read while it
/// is still open, garbage in it is skipped, and the node going away is shown.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ListenerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task ServeAsync(HttpListener listener, int port, Task release)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context, port, release));
        }
    }

    private static async Task AnswerAsync(HttpListenerContext context, int port, Task release)
    {
        var response = context.Response;
        var path = context.Request.Url!.AbsolutePath;
        try
        {
            if (path == "/api/events")
            {
                response.ContentType = "text/event-stream";
                response.SendChunked = true;
                await Write(response, ": connected\n\nnot an sse line\n\n");
                await Write(response, "event: member.dead\ndata: {\"kind\":\"member.dead\",\"data\":" +
                    "{\"member\":\"ghost\",\"incarnation\":3,\"from\":\"solo\"}}\n\n");
                await release.WaitAsync(Bound);                          // held open, as a node does
                return;
            }

            var body = path switch
            {
                "/api/status" => $$"""{"nodeId":"solo","http":"http://127.0.0.1:{{port}}/","gossip":"127.0.0.1:1"}""",
                "/api/members" => """[{"id":"solo","gossip":"127.0.0.1:1","state":"alive"}]""",
                "/api/ring" => """{"nodes":[{"id":"solo","share":1.0}]}""",
                "/api/replication" => """{"queueDepth":0,"progress":null}""",
                "/api/files/" => """{"prefix":"","files":[]}""",
                "/api/under-replicated" => """{"replicationTarget":1,"total":0,"referencedChunks":0,"chunks":[]}""",
                "/metrics" => "kepler_chunks_stored 0\n",
                _ => null,
            };
            response.StatusCode = body is null ? 404 : 200;
            await Write(response, body ?? "");
        }
        catch (Exception e) when (e is HttpListenerException or IOException or TimeoutException)
        {
            // The client went away.
        }
        finally
        {
            response.Close();
        }
    }

    private static async Task Write(HttpListenerResponse response, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await response.OutputStream.WriteAsync(bytes);
        await response.OutputStream.FlushAsync();
    }

    [Fact]
    public async Task Open_event_stream_is_read_live_and_a_node_going_away_is_shown()
    {
        var port = FreePort();
        var release = new TaskCompletionSource();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serving = ServeAsync(listener, port, release.Task);
        using var source = new HttpClusterSource(new Uri($"http://127.0.0.1:{port}/"), null,
            ImmediateScheduler.Instance, TimeProvider.System);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        var dead = source.Events.FirstAsync(e => e.Kind == "member.dead").ToTask();

        await source.PollOnceAsync(CancellationToken.None);
        Assert.StartsWith("ok", vm.State.Members.Single(m => m.Id == "solo").Health, StringComparison.Ordinal);
        var e = await dead.WaitAsync(Bound);                            // arrives while the stream stays open
        Assert.Equal("ghost", e.Field("member"));

        await source.PollOnceAsync(CancellationToken.None);
        Assert.Equal(MemberState.Dead, vm.State.Members.Single(m => m.Id == "ghost").State);
        Assert.Equal("ok (1 bad events)", vm.State.Members.Single(m => m.Id == "solo").Health);

        release.SetResult();
        listener.Stop();
        await serving.WaitAsync(Bound);
        await source.PollOnceAsync(CancellationToken.None);
        Assert.StartsWith("unreachable:", vm.State.Members.Single(m => m.Id == "solo").Health,
            StringComparison.Ordinal);
    }
}
