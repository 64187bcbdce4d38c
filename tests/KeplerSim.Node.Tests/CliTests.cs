using System.Text.Json;
using KeplerSim.Node.Cli;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>The client commands of the kepler-node binary, run as processes against a node process.</summary>
[Trait("Category", "Real")]
public sealed class CliTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Put_get_ls_rm_status_members_against_a_node_that_logs_json_lines()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("cli", dir);
        using var node = new ProcessNode(spec, spec.Environment([], ("LOG_LEVEL", "information")));
        await node.StartAsync();
        var url = spec.Url.ToString();
        var source = dir.Sub("source.bin");
        var copy = dir.Sub("copy.bin");
        var data = Nodes.RandomBytes(300_000);
        await File.WriteAllBytesAsync(source, data);

        var put = await RunAsync("put", source, "cli/data.bin", "--durability", "fast", "--node", url);
        Assert.Equal("cli/data.bin", JsonSerializer.Deserialize<JsonElement>(put).GetProperty("path").GetString());
        await RunAsync("get", "cli/data.bin", copy, "--node", url);
        Assert.Equal(data, await File.ReadAllBytesAsync(copy));
        Assert.Contains("cli/data.bin", await RunAsync("ls", "cli/", "--node", url), StringComparison.Ordinal);
        // ls follows the listing cursor: more paths than one page (1,000) are all printed.
        using (var client = Nodes.Client(spec.Url))
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 1_005), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                async (i, _) => (await client.PutAsync($"api/files/many/{i:D4}?durability=fast",
                    new StringContent("m"))).EnsureSuccessStatusCode());
        }

        var listed = (await RunAsync("ls", "many/", "--node", url)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1_005, listed.Length);
        Assert.EndsWith("many/1004", listed[^1].TrimEnd(), StringComparison.Ordinal);
        var status = JsonSerializer.Deserialize<JsonElement>(await RunAsync("status", "--node", url));
        Assert.Equal("cli", status.GetProperty("nodeId").GetString());
        var members = JsonSerializer.Deserialize<JsonElement>(await RunAsync("members", "--node", url));
        Assert.Equal("alive", members[0].GetProperty("state").GetString());
        var removed = JsonSerializer.Deserialize<JsonElement>(await RunAsync("rm", "cli/data.bin", "--node", url));
        Assert.True(removed.GetProperty("isTombstone").GetBoolean(), "rm writes a tombstone");
        var (code, _, error) = await RunRawAsync("get", "cli/data.bin", "--node", url);
        Assert.Equal(1, code);
        Assert.Contains("404 not_found", error, StringComparison.Ordinal);

        // LOG_FORMAT=json: every line the node wrote is one JSON object carrying the node id.
        Assert.NotEmpty(node.Output);
        foreach (var line in node.Output)
        {
            var log = JsonSerializer.Deserialize<JsonElement>(line);
            Assert.Equal("cli", log.GetProperty("node").GetString());
            Assert.True(log.TryGetProperty("time", out _) && log.TryGetProperty("level", out _)
                && log.TryGetProperty("message", out _), $"a log line has time, level and message: {line}");
        }
    }

    [Fact]
    public void The_progress_line_shows_a_bar_rate_and_eta()
    {
        const long MiB = 1024 * 1024;
        var line = Progress.Format("put", 50 * MiB, 100 * MiB, TimeSpan.FromSeconds(5));
        Assert.Contains("[" + new string('#', 15) + new string(' ', 15) + "]", line, StringComparison.Ordinal);
        Assert.Contains(" 50.0%", line, StringComparison.Ordinal);
        Assert.Contains("50.0 MiB/100.0 MiB", line, StringComparison.Ordinal);
        Assert.Contains("10.0 MiB/s", line, StringComparison.Ordinal);
        Assert.EndsWith("ETA 00:00:05", line, StringComparison.Ordinal);
        Assert.Equal("get 3.0 MiB 1.0 MiB/s", Progress.Format("get", 3 * MiB, null, TimeSpan.FromSeconds(3)));
    }

    /// <summary>
    /// Regression: the bar's first redraw check subtracted TimeSpan.MinValue and overflowed, so every large
    /// transfer on a terminal crashed the CLI (found by running `kepler-node put` of 190 MiB under tmux).
    /// </summary>
    [Fact]
    public void The_progress_bar_draws_on_a_terminal_without_crashing()
    {
        const long MiB = 1024 * 1024;
        var terminal = new StringWriter();
        using (var progress = new Progress("put", 4 * MiB, terminal))
        {
            for (var i = 0; i < 4; i++)
            {
                progress.Add(MiB);
            }
        }

        var drawn = terminal.ToString();
        Assert.StartsWith("\rput [", drawn, StringComparison.Ordinal);
        Assert.Contains("100.0% 4.0 MiB/4.0 MiB", drawn, StringComparison.Ordinal);
        Assert.Contains("ETA 00:00:00", drawn, StringComparison.Ordinal);
        Assert.EndsWith(Environment.NewLine, drawn, StringComparison.Ordinal);
    }

    private static async Task<string> RunAsync(params string[] args)
    {
        var (code, output, error) = await RunRawAsync(args);
        Assert.True(code == 0, $"kepler-node {string.Join(' ', args)} exited {code}: {error}");
        return output;
    }

    private static async Task<(int Code, string Output, string Error)> RunRawAsync(params string[] args)
    {
        using var process = Nodes.StartProcess(new Dictionary<string, string?>(), args);
        using var cancel = new CancellationTokenSource(CommandTimeout);
        var output = process.StandardOutput.ReadToEndAsync(cancel.Token);
        var error = process.StandardError.ReadToEndAsync(cancel.Token);
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await output, await error);
    }
}
