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
}
