using System.Collections.Concurrent;
using System.Net;
using KeplerSim.Node.Cli;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;
using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.Tests;

/// <summary>
/// Failures fail the node (issue 13): an unexpected exception in a supervised background task, or in a work item
/// on the loop, is logged as critical, counted in /metrics, and ends <c>serve</c> with
/// <see cref="ServeCommand.FatalExitCode"/>. Before, the loop logged it at Error and the node ran on.
/// </summary>
[Trait("Category", "Real")]
public sealed class SupervisorFailureTests
{
    private static readonly TimeSpan FatalTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_failed_background_task_is_fatal_counted_and_ends_serve_with_the_fatal_code()
    {
        using var dir = new TempDir();
        var logs = new CapturingLoggers();
        var host = await StartAsync(dir, logs);
        await using var _ = host;
        using var client = Nodes.Client(host.HttpAddress);
        Assert.DoesNotContain("kepler_supervisor_failures_total{", await client.GetStringAsync("metrics"),
            StringComparison.Ordinal);

        await host.Loop.InvokeAsync(() =>
        {
            host.Runtime.Supervisor.Run("test.planted", async () =>
            {
                await host.Runtime.Clock.DelayAsync(1_000);
                throw new InvalidOperationException("planted bug");
            });
            return true;
        });

        await Wait.WaitUntil(() => host.Fatal.IsCompleted, FatalTimeout, "the planted failure to be fatal");
        Assert.Equal("background task 'test.planted' failed: InvalidOperationException: planted bug",
            await host.Fatal);
        Assert.Contains("kepler_supervisor_failures_total{task=\"test.planted\"} 1\n",
            await client.GetStringAsync("metrics"), StringComparison.Ordinal);
        var critical = Assert.Single(logs.Entries, e => e.Level == LogLevel.Critical);
        Assert.Contains("fatal: test.planted failed unexpectedly", critical.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(critical.Exception);

        using var error = new StringWriter();
        Assert.Equal(ServeCommand.FatalExitCode,
            await ServeCommand.RunUntilStoppedAsync(host, error, CancellationToken.None));
        Assert.Contains("kepler-node: fatal: background task 'test.planted' failed", error.ToString(),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_work_item_that_throws_on_the_loop_is_fatal_too()
    {
        using var dir = new TempDir();
        var host = await StartAsync(dir, new CapturingLoggers());
        await using var _ = host;
        using var client = Nodes.Client(host.HttpAddress);

        host.Loop.Post(() => throw new InvalidOperationException("loop bug"));

        await Wait.WaitUntil(() => host.Fatal.IsCompleted, FatalTimeout, "the loop's failure to be fatal");
        Assert.StartsWith("a work item on the node's loop failed: InvalidOperationException: loop bug",
            await host.Fatal, StringComparison.Ordinal);
        var metrics = await client.GetStringAsync("metrics");
        Assert.Contains("kepler_supervisor_failures_total{task=\"loop\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("kepler_loop_errors_total 1\n", metrics, StringComparison.Ordinal);
        Assert.Equal(ServeCommand.FatalExitCode,
            await ServeCommand.RunUntilStoppedAsync(host, TextWriter.Null, CancellationToken.None));
    }

    [Fact]
    public async Task A_healthy_node_stops_with_zero_and_its_background_work_is_supervised()
    {
        using var dir = new TempDir();
        var logs = new CapturingLoggers();
        var host = await StartAsync(dir, logs);
        await using var _ = host;
        using var client = Nodes.Client(host.HttpAddress);
        using (var put = await client.PutAsync("api/files/f.bin", new ByteArrayContent(Nodes.RandomBytes(50_000))))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // Scrub, anti-entropy and GC run under the supervisor on a healthy node too.
        await Wait.WaitUntil(async () => await Nodes.MetricAsync(client, "kepler_supervisor_tasks_started_total") > 0,
            FatalTimeout, "a supervised background task to start");
        using var stop = new CancellationTokenSource();
        var run = ServeCommand.RunUntilStoppedAsync(host, TextWriter.Null, stop.Token);
        await stop.CancelAsync();
        Assert.Equal(0, await run);
        Assert.False(host.Fatal.IsCompleted, "a healthy node must not be fatal");
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }

    private static async Task<NodeHost> StartAsync(TempDir dir, CapturingLoggers logs)
    {
        var spec = NodeSpec.Create("a", dir);
        var config = NodeConfig.Load(spec.Environment([], ("REPLICATION_FACTOR", "1"), ("CHUNK_SIZE_MB", "1")));
        var host = await NodeHost.StartAsync(config, logs);
        await Wait.WaitUntil(() => host.Node.Ready.IsCompleted, Nodes.StartTimeout, "the node to be ready");
        Assert.True(host.Node.Ready.IsCompletedSuccessfully, "the node failed to start");
        return host;
    }

    /// <summary>Keeps every log entry of the node (any thread), to check levels and messages.</summary>
    private sealed class CapturingLoggers : ILoggerFactory, ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> _entries = new();

        public IReadOnlyCollection<(LogLevel Level, string Message, Exception? Exception)> Entries => _entries;

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) =>
            _entries.Enqueue((logLevel, formatter(state, exception), exception));

        public void Dispose()
        {
        }
    }
}
