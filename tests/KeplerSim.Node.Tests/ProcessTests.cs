using System.Net;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>What a node process runs besides its own work.</summary>
[Trait("Category", "Real")]
public sealed class ProcessTests
{
    [Fact]
    public async Task No_file_watcher_wakes_for_every_chunk_written_under_the_working_directory()
    {
        // The default DATA_DIR is ./data/NODE_ID, under the working directory. ASP.NET Core's appsettings reload
        // watched the working directory recursively, so every chunk written woke a ".NET File Watch" thread
        // (seen in perf profiles of uploads). The node turns that reload off.
        using var dir = new TempDir();
        var spec = NodeSpec.Create("w", dir) with { DataDir = "" };
        var environment = spec.Environment([], ("REPLICATION_FACTOR", "1"), ("CHUNK_SIZE_MB", "1"));
        environment.Remove("DATA_DIR");
        using var node = new ProcessNode(spec, environment, workingDirectory: dir.Path);
        await node.StartAsync();
        using var client = Nodes.Client(spec.Url);
        using (var put = await client.PutAsync("api/files/f.bin", new ByteArrayContent(Nodes.RandomBytes(5_000_000))))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        Assert.True(Directory.EnumerateFiles(Path.Combine(dir.Path, "data", "w", "chunks"), "*",
            SearchOption.AllDirectories).Count() >= 5, "the chunks are under the working directory");
        var threads = Directory.EnumerateDirectories($"/proc/{node.Pid}/task")
            .Select(t => File.ReadAllText(Path.Combine(t, "comm")).Trim()).ToList();
        Assert.DoesNotContain(threads, t => t.Contains("File Watch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_replication_retry_is_logged_at_information()
    {
        // A write that ends in 503 durability_not_met is explained by its chunks' retries; at Debug they were
        // invisible in a normal log (the cause of one such 503 was never found).
        using var dir = new TempDir();
        var a = NodeSpec.Create("a", dir);
        var b = NodeSpec.Create("b", dir); // Never started: every delivery to it fails.
        using var node = new ProcessNode(a, a.Environment([a, b], ("REPLICATION_FACTOR", "2"),
            ("LOG_LEVEL", "information")));
        await node.StartAsync();
        using var client = Nodes.Client(a.Url);
        using (var put = await client.PutAsync("api/files/f.bin?durability=fast",
                   new ByteArrayContent(Nodes.RandomBytes(10_000))))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        await Wait.WaitUntil(() => node.Output.Any(l => l.Contains("chunk.retry", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "a chunk.retry line in the node's information-level log");
        var line = node.Output.First(l => l.Contains("chunk.retry", StringComparison.Ordinal));
        Assert.Contains("Target = b", line, StringComparison.Ordinal); // Names the target.
    }
}
