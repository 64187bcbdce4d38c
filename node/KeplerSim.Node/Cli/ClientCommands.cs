using System.Globalization;
using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;

namespace KeplerSim.Node.Cli;

/// <summary>The client commands: put, get, ls, rm, status, members, remove-member, drain, replication-factor — all
/// against <c>--node URL</c>.</summary>
internal static class ClientCommands
{
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    public static readonly Option<string> NodeOption = new("--node")
    {
        Description = "Base URL of the node to talk to",
        DefaultValueFactory = _ => "http://127.0.0.1:3000",
    };

    public static IEnumerable<Command> Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "Local file" };
        file.AcceptExistingOnly();
        var path = new Argument<string>("path") { Description = "Path in the cluster" };
        var durability = new Option<string>("--durability")
        {
            Description = "all, quorum or fast", DefaultValueFactory = _ => "quorum",
        };
        durability.AcceptOnlyFromAmong("all", "quorum", "fast");
        var put = new Command("put", "Upload a file") { file, path, durability };
        put.SetAction((p, ct) => RunAsync(p, c => PutAsync(c, p.GetRequiredValue(file), p.GetRequiredValue(path),
            p.GetRequiredValue(durability), ct)));

        var getPath = new Argument<string>("path") { Description = "Path in the cluster" };
        var target = new Argument<FileInfo?>("file")
        {
            Description = "Where to write it [default: stdout]", Arity = ArgumentArity.ZeroOrOne,
        };
        var get = new Command("get", "Download a file") { getPath, target };
        get.SetAction((p, ct) => RunAsync(p, c => GetAsync(c, p.GetRequiredValue(getPath), p.GetValue(target), ct)));

        var prefix = new Argument<string?>("prefix")
        {
            Description = "Only paths starting with it", Arity = ArgumentArity.ZeroOrOne,
        };
        var ls = new Command("ls", "List files") { prefix };
        ls.SetAction((p, ct) => RunAsync(p, c => ListAsync(c, p.GetValue(prefix) ?? "", ct)));

        var rmPath = new Argument<string>("path") { Description = "Path in the cluster" };
        var rm = new Command("rm", "Delete a file") { rmPath };
        rm.SetAction((p, ct) => RunAsync(p, async c =>
            Print(await SendAsync(c, new HttpRequestMessage(HttpMethod.Delete, FileUrl(p.GetRequiredValue(rmPath))),
                ct))));

        var status = new Command("status", "Show the node's status");
        status.SetAction((p, ct) => RunAsync(p, async c =>
            Print(await SendAsync(c, new HttpRequestMessage(HttpMethod.Get, "api/status"), ct))));
        var members = new Command("members", "Show the cluster members");
        members.SetAction((p, ct) => RunAsync(p, async c =>
            Print(await SendAsync(c, new HttpRequestMessage(HttpMethod.Get, "api/members"), ct))));
        var memberId = new Argument<string>("id") { Description = "Node id of the dead member" };
        var removeMember = new Command("remove-member",
            "Remove a member that is dead for good: it is marked left on every node and stops counting towards N")
        {
            memberId,
        };
        removeMember.SetAction((p, ct) => RunAsync(p, async c => Print(await SendAsync(c,
            new HttpRequestMessage(HttpMethod.Delete, "api/members/" + Uri.EscapeDataString(p.GetRequiredValue(memberId))),
            ct))));
        var drainTimeout = new Option<long>("--timeout-ms")
        {
            Description = "How long the node may take to hand its chunks off",
            DefaultValueFactory = _ => 600_000,
        };
        var drain = new Command("drain",
            "Decommission the node: it leaves, hands every local chunk off to its new owners, then exits; " +
            "exit code 1 when the hand-off did not finish in time") { drainTimeout };
        drain.SetAction((p, ct) => RunAsync(p, async c =>
        {
            var report = await SendAsync(c, new HttpRequestMessage(HttpMethod.Post,
                "api/drain?timeout_ms=" + p.GetValue(drainTimeout).ToString(CultureInfo.InvariantCulture)), ct);
            Print(report);
            if (!report.GetProperty("complete").GetBoolean())
            {
                throw new ClientException($"the hand-off did not finish: {report.GetProperty("queueLeft")} " +
                    "copies still queued (peers re-replicate them from the other copies)");
            }
        }));
        return [put, get, ls, rm, status, members, removeMember, drain, ReplicationFactorCommand()];
    }

    /// <summary><c>replication-factor [N]</c>: show the replication factor in force, or change it
    /// cluster-wide.</summary>
    private static Command ReplicationFactorCommand()
    {
        var value = new Argument<int?>("n")
        {
            Description = "The new replication factor (1..8); without it, show the one in force",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("replication-factor",
            "Show the replication factor, or change it on every node (spread by gossip; repair re-replicates up to " +
            "it or trims surplus copies once the new owners hold theirs)") { value };
        command.SetAction((p, ct) => RunAsync(p, async c =>
        {
            var request = p.GetValue(value) is { } n
                ? new HttpRequestMessage(HttpMethod.Put,
                    "api/replication-factor?value=" + n.ToString(CultureInfo.InvariantCulture))
                : new HttpRequestMessage(HttpMethod.Get, "api/replication-factor");
            Print(await SendAsync(c, request, ct));
        }));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Func<HttpClient, Task> work)
    {
        var node = parse.GetValue(NodeOption)!;
        if (!Uri.TryCreate(node.EndsWith('/') ? node : node + "/", UriKind.Absolute, out var baseUri))
        {
            await Console.Error.WriteLineAsync($"kepler-node: --node '{node}' is not a URL");
            return 2;
        }

        HttpClient client;
        try
        {
            client = ClientConnection.Create(parse, baseUri);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"kepler-node: {e.Message}");
            return 2;
        }

        using var _ = client;
        try
        {
            await work(client);
            return 0;
        }
        catch (ClientException e)
        {
            await Console.Error.WriteLineAsync($"kepler-node: {e.Message}");
            return 1;
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"kepler-node: cannot reach {baseUri}: {e.Message}");
            return 1;
        }
    }

    private static async Task PutAsync(HttpClient client, FileInfo file, string path, string durability,
        CancellationToken cancel)
    {
        await using var stream = file.OpenRead();
        using var progress = new Progress("put", file.Length);
        using var content = new StreamContent(new ProgressStream(stream, progress), 1 << 20);
        content.Headers.ContentLength = file.Length;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var request = new HttpRequestMessage(HttpMethod.Put, $"{FileUrl(path)}?durability={durability}")
        {
            Content = content,
        };
        Print(await SendAsync(client, request, cancel));
    }

    private static async Task GetAsync(HttpClient client, string path, FileInfo? target, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, FileUrl(path));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        await EnsureOkAsync(response, cancel);
        await using var body = await response.Content.ReadAsStreamAsync(cancel);
        using var progress = new Progress("get", response.Content.Headers.ContentLength);
        await using var output = target is null ? Console.OpenStandardOutput() : target.Create();
        await new ProgressStream(body, progress).CopyToAsync(output, 1 << 20, cancel);
    }

    /// <summary>Prints every live path under the prefix, following the listing cursor page by page.</summary>
    private static async Task ListAsync(HttpClient client, string prefix, CancellationToken cancel)
    {
        string? after = null;
        do
        {
            var query = "api/files/?limit=1000&prefix=" + Uri.EscapeDataString(prefix)
                + (after is null ? "" : "&after=" + Uri.EscapeDataString(after));
            var json = await SendAsync(client, new HttpRequestMessage(HttpMethod.Get, query), cancel);
            foreach (var file in json.GetProperty("files").EnumerateArray())
            {
                var size = file.GetProperty("sizeBytes").GetInt64();
                Console.WriteLine($"{size,14} {file.GetProperty("version").GetString(),-36} " +
                    file.GetProperty("path").GetString());
            }

            after = json.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String
                ? next.GetString()
                : null;
        }
        while (after is not null);
    }

    private static async Task<JsonElement> SendAsync(HttpClient client, HttpRequestMessage request,
        CancellationToken cancel)
    {
        using (request)
        {
            using var response = await client.SendAsync(request, cancel);
            await EnsureOkAsync(response, cancel);
            return JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync(cancel));
        }
    }

    private static async Task EnsureOkAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancel);
        string message;
        try
        {
            var error = JsonSerializer.Deserialize<JsonElement>(text);
            message = $"{error.GetProperty("code").GetString()}: {error.GetProperty("message").GetString()}";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            message = text;
        }

        throw new ClientException($"{(int)response.StatusCode} {message}");
    }

    private static void Print(JsonElement json) => Console.WriteLine(JsonSerializer.Serialize(json, Pretty));

    /// <summary>The URL of a cluster path, each segment escaped.</summary>
    public static string FileUrl(string path) =>
        "api/files/" + string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    private sealed class ClientException(string message) : Exception(message);
}
