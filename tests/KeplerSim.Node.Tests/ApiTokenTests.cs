using System.Net;
using System.Net.Http.Headers;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// API_TOKENS on a real node process: every endpoint needs its role (admin ⊇ write ⊇ read), a missing or unknown
/// token is 401 with WWW-Authenticate, a role too low is 403, both in the API's JSON error shape; /health and
/// /ready stay open; the CLI sends --token / KEPLER_TOKEN. Without the feature every request here succeeds.
/// </summary>
[Trait("Category", "Real")]
public sealed class ApiTokenTests
{
    private const string ReadSecret = "read-secret-0123456789";
    private const string WriteSecret = "write-secret-0123456789";
    private const string AdminSecret = "admin-secret-0123456789";

    internal const string Tokens = $"reader:{ReadSecret}:read,writer:{WriteSecret}:write,root:{AdminSecret}:admin";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    internal static HttpRequestMessage Request(HttpMethod method, string url, string? secret, byte[]? body = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
        }

        return request;
    }

    [Fact]
    public async Task Every_endpoint_needs_its_role_and_health_stays_open()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("tokens", dir);
        using var node = new ProcessNode(spec, spec.Environment([], ("API_TOKENS", Tokens)));
        await node.StartAsync();
        using var client = Nodes.Client(spec.Url);
        async Task<HttpResponseMessage> Send(HttpMethod method, string url, string? secret, byte[]? body = null)
        {
            using var request = Request(method, url, secret, body);
            return await client.SendAsync(request);
        }

        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "health", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "ready", null)).StatusCode);

        var data = Nodes.RandomBytes(100_000);
        var anonymousPut = await Send(HttpMethod.Put, "api/files/t/a.bin", null, data);
        await Nodes.AssertErrorAsync(anonymousPut, 401, "unauthorized");
        Assert.Equal("Bearer", anonymousPut.Headers.WwwAuthenticate.Single().Scheme);
        await Nodes.AssertErrorAsync(await Send(HttpMethod.Delete, "api/files/t/a.bin", null), 401, "unauthorized");
        var unknown = await Send(HttpMethod.Get, "api/status", "not-a-token-0123456789");
        await Nodes.AssertErrorAsync(unknown, 401, "unauthorized");
        Assert.Contains("invalid_token", unknown.Headers.WwwAuthenticate.Single().Parameter, StringComparison.Ordinal);
        foreach (var url in new[] { "api/status", "api/members", "api/ring", "api/replication", "api/files/",
                     "api/files/t/a.bin", "api/versions/t/a.bin", "metrics", "api/events" })
        {
            await Nodes.AssertErrorAsync(await Send(HttpMethod.Get, url, null), 401, "unauthorized");
        }

        await Nodes.AssertErrorAsync(await Send(HttpMethod.Put, "api/files/t/a.bin", ReadSecret, data), 403,
            "forbidden");
        await Nodes.AssertErrorAsync(await Send(HttpMethod.Delete, "api/files/t/a.bin", ReadSecret), 403, "forbidden");
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Get, "api/files/t/a.bin", ReadSecret)).StatusCode);

        var written = await Send(HttpMethod.Put, "api/files/t/a.bin", WriteSecret, data);
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);
        var read = await Send(HttpMethod.Get, "api/files/t/a.bin", ReadSecret);
        Assert.Equal(data, await read.Content.ReadAsByteArrayAsync());
        foreach (var url in new[] { "api/status", "api/members", "api/ring", "api/replication", "metrics" })
        {
            Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, url, ReadSecret)).StatusCode);
        }

        using (var events = Request(HttpMethod.Get, "api/events", ReadSecret))
        using (var stream = await client.SendAsync(events, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        }

        // Removing a member is an operator's act: write is not enough; admin reaches the handler (which refuses
        // a static member: 409), so authorization let it through.
        await Nodes.AssertErrorAsync(await Send(HttpMethod.Delete, "api/members/other", WriteSecret), 403, "forbidden");
        await Nodes.AssertErrorAsync(await Send(HttpMethod.Delete, "api/members/other", AdminSecret), 409,
            "member_not_removable");
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Delete, "api/files/t/a.bin", AdminSecret)).StatusCode);

        // The CLI: --token, or KEPLER_TOKEN; without one it says 401.
        var nodeUrl = spec.Url.ToString();
        var source = dir.Sub("source.bin");
        await File.WriteAllBytesAsync(source, data);
        var (code, _, error) = await RunCliAsync([], "put", source, "t/cli.bin", "--node", nodeUrl);
        Assert.Equal(1, code);
        Assert.Contains("401 unauthorized", error, StringComparison.Ordinal);
        (code, _, error) = await RunCliAsync([], "put", source, "t/cli.bin", "--node", nodeUrl, "--token", ReadSecret);
        Assert.Contains("403 forbidden", error, StringComparison.Ordinal);
        (code, _, error) = await RunCliAsync([], "put", source, "t/cli.bin", "--node", nodeUrl, "--token", WriteSecret);
        Assert.True(code == 0, error);
        (code, var listed, error) = await RunCliAsync(new() { ["KEPLER_TOKEN"] = ReadSecret }, "ls", "t/",
            "--node", nodeUrl);
        Assert.True(code == 0, error);
        Assert.Contains("t/cli.bin", listed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_can_be_left_open_for_scrapers()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("metrics-open", dir);
        await using var host = await Nodes.StartInProcessAsync(
            spec.Environment([], ("API_TOKENS", Tokens), ("METRICS_AUTH", "open")));
        using var client = Nodes.Client(host.HttpAddress);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("metrics")).StatusCode);
        await Nodes.AssertErrorAsync(await client.GetAsync("api/status"), 401, "unauthorized");
    }

    [Theory]
    [InlineData("reader:short:read", "entry 1 is invalid")]
    [InlineData("reader:read-secret-0123456789:owner", "entry 1 is invalid")]
    [InlineData("a:read-secret-0123456789:read,b:read-secret-0123456789:write", "entry 2: its name or secret")]
    [InlineData("@/nonexistent/tokens", "cannot read")]
    public void Bad_tokens_are_a_config_error_that_never_echoes_a_secret(string value, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => NodeConfig.Load(new Dictionary<string, string?>
        {
            ["NODE_ID"] = "n1", ["API_TOKENS"] = value,
        }));
        Assert.Equal("API_TOKENS", error.Variable);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("read-secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokens_load_from_a_file_one_per_line()
    {
        using var dir = new TempDir();
        var file = dir.Sub("tokens");
        File.WriteAllText(file, $"# operators\nroot:{AdminSecret}:admin\n\nreader:{ReadSecret}:READ\n");
        var config = NodeConfig.Load(
            new Dictionary<string, string?> { ["NODE_ID"] = "n1", ["API_TOKENS"] = "@" + file });
        Assert.Equal([("root", ApiRole.Admin), ("reader", ApiRole.Read)],
            config.ApiTokens.Select(t => (t.Name, t.Role)).ToList());
        Assert.DoesNotContain(AdminSecret, config.ApiTokens[0].ToString(), StringComparison.Ordinal);
    }

    internal static async Task<(int Code, string Output, string Error)> RunCliAsync(
        Dictionary<string, string?> environment, params string[] args)
    {
        using var process = Nodes.StartProcess(environment, args);
        using var cancel = new CancellationTokenSource(CommandTimeout);
        var output = process.StandardOutput.ReadToEndAsync(cancel.Token);
        var error = process.StandardError.ReadToEndAsync(cancel.Token);
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await output, await error);
    }

    internal static async Task<(int Code, string Error)> StartExpectingFailureAsync(
        Dictionary<string, string?> environment)
    {
        using var process = Nodes.StartProcess(environment, "serve");
        using var cancel = new CancellationTokenSource(Nodes.StartTimeout);
        var output = process.StandardOutput.ReadToEndAsync(cancel.Token);
        var error = process.StandardError.ReadToEndAsync(cancel.Token);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            Assert.Fail($"the node was expected to refuse to start, but ran {Nodes.StartTimeout.TotalSeconds} s");
        }

        await output;
        return (process.ExitCode, await error);
    }
}
