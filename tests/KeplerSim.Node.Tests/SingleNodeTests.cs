using System.Net;
using System.Net.Http.Headers;
using System.Text;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>One in-process node, RF 1, exercised through its HTTP gateway.</summary>
public sealed class SingleNodeFixture : IAsyncLifetime
{
    public TempDir Dir { get; } = new();

    public NodeHost Host { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var spec = NodeSpec.Create("solo", Dir);
        Host = await Nodes.StartInProcessAsync(spec.Environment([], ("CHUNK_SIZE_MB", "1"), ("HTTP_PORT", "0"),
            ("GOSSIP_PORT", "0"), ("TRANSFER_PORT", "0")));
        Client = Nodes.Client(Host.HttpAddress);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        Dir.Dispose();
    }
}

[Trait("Category", "Real")]
public sealed class SingleNodeTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    private readonly HttpClient _client = fixture.Client;

    [Fact]
    public async Task Put_get_head_list_delete_round_trip()
    {
        var data = Nodes.RandomBytes(2_500_000); // three 1 MiB chunks, the last one short
        using (var put = await _client.PutAsync("api/files/docs/a.bin", new ByteArrayContent(data)))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var info = await Nodes.JsonAsync(put);
            Assert.Equal(3, info.GetProperty("chunkCount").GetInt32());
            Assert.Equal(data.Length, info.GetProperty("sizeBytes").GetInt64());
        }

        Assert.Equal(data, await _client.GetByteArrayAsync("api/files/docs/a.bin"));
        using (var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "api/files/docs/a.bin")))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(data.Length, head.Content.Headers.ContentLength);
            Assert.NotNull(head.Headers.ETag);
        }

        await _client.PutAsync("api/files/docs/b.txt", new StringContent("hello"));
        await _client.PutAsync("api/other/c.txt", new StringContent("x"));
        var all = await Nodes.JsonAsync(await _client.GetAsync("api/files/"));
        var docs = await Nodes.JsonAsync(await _client.GetAsync("api/files/docs/"));
        Assert.Contains("docs/a.bin",
            all.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()));
        Assert.Equal(new List<string?> { "docs/a.bin", "docs/b.txt" },
            docs.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()).ToList());

        using (var delete = await _client.DeleteAsync("api/files/docs/b.txt"))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/docs/b.txt"), 404, "not_found");
        docs = await Nodes.JsonAsync(await _client.GetAsync("api/files/docs/"));
        Assert.Single(docs.GetProperty("files").EnumerateArray());
    }

    [Fact]
    public async Task Ranges_are_served_as_206_and_unsatisfiable_ones_as_416()
    {
        var data = Nodes.RandomBytes(3 * 1024 * 1024 + 17);
        await _client.PutAsync("api/files/range.bin", new ByteArrayContent(data));
        await AssertRangeAsync("bytes=10-19", 10, 10);
        await AssertRangeAsync($"bytes={1024 * 1024 - 5}-{2 * 1024 * 1024 + 5}", 1024 * 1024 - 5, 1024 * 1024 + 11);
        await AssertRangeAsync("bytes=-7", data.Length - 7, 7);
        await AssertRangeAsync($"bytes={data.Length - 3}-", data.Length - 3, 3);

        var request = new HttpRequestMessage(HttpMethod.Get, "api/files/range.bin");
        request.Headers.Range = new RangeHeaderValue(data.Length, data.Length + 10);
        using var unsatisfiable = await _client.SendAsync(request);
        Assert.Equal($"bytes */{data.Length}", unsatisfiable.Content.Headers.ContentRange?.ToString());
        await Nodes.AssertErrorAsync(unsatisfiable, 416, "range_not_satisfiable");

        async Task AssertRangeAsync(string header, long offset, int length)
        {
            var get = new HttpRequestMessage(HttpMethod.Get, "api/files/range.bin");
            get.Headers.TryAddWithoutValidation("Range", header);
            using var response = await _client.SendAsync(get);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal($"bytes {offset}-{offset + length - 1}/{data.Length}",
                response.Content.Headers.ContentRange?.ToString());
            Assert.Equal(data.AsSpan((int)offset, length).ToArray(), await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Content_by_id_is_immutable_and_versions_are_listed()
    {
        using var put = await _client.PutAsync("api/files/content.txt", new StringContent("immutable bytes"));
        var contentId = (await Nodes.JsonAsync(put)).GetProperty("contentId").GetString();
        using var content = await _client.GetAsync($"api/content/{contentId}");
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal("immutable bytes", await content.Content.ReadAsStringAsync());
        Assert.Equal("public, max-age=31536000, immutable", content.Headers.CacheControl?.ToString());
        await Nodes.AssertErrorAsync(await _client.GetAsync($"api/content/{new string('a', 64)}"), 404, "not_found");
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/content/NOT-HEX"), 400, "invalid_content_id");
        Assert.Equal($"\"{contentId}\"", content.Headers.ETag?.ToString());

        // Overwritten, the old content stays addressable by its id (history keeps its chunks until GC).
        using var overwrite = await _client.PutAsync("api/files/content.txt", new StringContent("newer bytes"));
        Assert.Equal(HttpStatusCode.OK, overwrite.StatusCode);
        using var old = await _client.GetAsync($"api/content/{contentId}");
        Assert.Equal(HttpStatusCode.OK, old.StatusCode);
        Assert.Equal("immutable bytes", await old.Content.ReadAsStringAsync());
        Assert.Equal("public, max-age=31536000, immutable", old.Headers.CacheControl?.ToString());

        var versions = await Nodes.JsonAsync(await _client.GetAsync("api/versions/content.txt"));
        Assert.True(versions.GetArrayLength() >= 1, "the winner is listed");
        Assert.True(versions[0].GetProperty("isWinner").GetBoolean(), "the winner comes first");
    }

    [Fact]
    public async Task Client_errors_are_json_with_stable_codes()
    {
        var longSegment = new string('x', 300);
        await Nodes.AssertErrorAsync(await _client.PutAsync($"api/files/{longSegment}", new StringContent("x")),
            400, "invalid_path");
        await Nodes.AssertErrorAsync(await _client.PutAsync("api/files/ok.txt?durability=maybe",
            new StringContent("x")), 400, "invalid_durability");
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/missing.txt"), 404, "not_found");
        await Nodes.AssertErrorAsync(await _client.DeleteAsync("api/files/missing.txt"), 404, "not_found");
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/?limit=0"), 400, "invalid_limit");
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/dir/?limit=lots"), 400, "invalid_limit");
        await Nodes.AssertErrorAsync(await _client.DeleteAsync("api/files/ok.txt?durability=never"), 400,
            "invalid_durability");
        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "api/files/missing.txt"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    /// <summary>
    /// Errors raised outside the API handlers used to have empty bodies (405, 404 for unknown routes, 431, 414),
    /// <c>a%2Fb</c> and <c>a/b</c> were different files, versions of a missing path were 200 [], a garbage version
    /// was 404, and <c>durability=</c> / <c>durability=ALL</c> were accepted (issue 18).
    /// </summary>
    [Fact]
    public async Task Framework_errors_and_ambiguous_requests_are_json_with_stable_codes()
    {
        await Nodes.AssertErrorAsync(await _client.PostAsync("api/files/x.txt", new StringContent("x")), 405,
            "method_not_allowed");
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/no-such-route"), 404, "not_found");
        using (var big = new HttpRequestMessage(HttpMethod.Get, "health"))
        {
            big.Headers.Add("X-Big", new string('a', 40_000));
            await Nodes.AssertErrorAsync(await _client.SendAsync(big), 431, "headers_too_large");
        }

        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/" + new string('a', 9_000)), 414,
            "uri_too_long");
        await Nodes.AssertErrorAsync(await _client.PutAsync("api/files/a%2Fb", new StringContent("x")), 400,
            "invalid_path");
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/a%FFb"), 400, "invalid_encoding");
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/versions/never-written"), 404, "not_found");
        using (var put = await _client.PutAsync("api/files/strict.txt", new StringContent("v")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/strict.txt?version=garbage"), 400,
            "invalid_version");
        await Nodes.AssertErrorAsync(await _client.PutAsync("api/files/strict.txt?durability=",
            new StringContent("x")), 400, "invalid_durability");
        await Nodes.AssertErrorAsync(await _client.PutAsync("api/files/strict.txt?durability=ALL",
            new StringContent("x")), 400, "invalid_durability");
        // A '+' in a path is itself (not a space), and a literal '%' is fine when encoded as %25.
        using (var plus = await _client.PutAsync("api/files/a+b%25FF.txt", new StringContent("p")))
        {
            Assert.Equal(HttpStatusCode.OK, plus.StatusCode);
            Assert.Equal("a+b%FF.txt", (await Nodes.JsonAsync(plus)).GetProperty("path").GetString());
        }
    }

    /// <summary>Listing used to stop at 1,024 entries with no cursor and no "truncated" flag (issue 18).</summary>
    [Fact]
    public async Task Listing_pages_through_3000_paths_with_a_cursor()
    {
        const int count = 3_000;
        var names = Enumerable.Range(0, count).Select(i => $"page/{i:D5}").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (name, _) =>
        {
            using var put = await _client.PutAsync($"api/files/{name}?durability=fast", new StringContent(name));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        });
        var seen = new List<string>();
        string? after = null;
        var pages = 0;
        do
        {
            var query = "api/files/page/?limit=1000" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after));
            using var response = await _client.GetAsync(query);
            var json = await Nodes.JsonAsync(response);
            var files = json.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()!);
            seen.AddRange(files);
            after = json.GetProperty("next").ValueKind == System.Text.Json.JsonValueKind.Null
                ? null
                : json.GetProperty("next").GetString();
            Assert.Equal(after is not null, json.GetProperty("truncated").GetBoolean());
            pages++;
        }
        while (after is not null && pages < 10);

        Assert.Equal(names, seen);
        Assert.Equal(3, pages);
    }

    /// <summary>A body that breaks HTTP framing (bad chunked encoding) is 400 bad_request and stores nothing.</summary>
    [Fact]
    public async Task A_malformed_request_body_is_400_bad_request()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync("127.0.0.1", fixture.Host.HttpAddress.Port, cancel.Token);
        var stream = tcp.GetStream();
        var request = "PUT /api/files/framing.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "5\r\nhello\r\nNOT-A-CHUNK-SIZE\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancel.Token);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var response = await reader.ReadToEndAsync(cancel.Token);
        Assert.StartsWith("HTTP/1.1 400", response, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"bad_request\"", response, StringComparison.Ordinal);
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/framing.bin"), 404, "not_found");
    }

    /// <summary>RF 1: the only copy of the chunk is corrupt, so no intact replica exists anywhere.</summary>
    [Fact]
    public async Task A_chunk_with_no_intact_copy_is_503_chunk_unavailable()
    {
        var data = Nodes.RandomBytes(1000);
        using var put = await _client.PutAsync("api/files/lost.bin", new ByteArrayContent(data));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var chunk = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));
        ChunkFiles.Corrupt(fixture.Host.Config.DataDir, chunk);
        await Nodes.AssertErrorAsync(await _client.GetAsync("api/files/lost.bin"), 503, "chunk_unavailable");
    }

    [Fact]
    public async Task Status_endpoints_answer()
    {
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("ready")).StatusCode);
        var status = await Nodes.JsonAsync(await _client.GetAsync("api/status"));
        Assert.Equal("solo", status.GetProperty("nodeId").GetString());
        Assert.Equal(1, status.GetProperty("replicationFactor").GetInt32());
        var members = await Nodes.JsonAsync(await _client.GetAsync("api/members"));
        Assert.Equal("solo", members[0].GetProperty("id").GetString());
        var ring = await Nodes.JsonAsync(await _client.GetAsync("api/ring"));
        Assert.Equal(1, ring.GetProperty("nodes").GetArrayLength());
        var replication = await Nodes.JsonAsync(await _client.GetAsync("api/replication"));
        Assert.Equal(0, replication.GetProperty("queueDepth").GetInt64());
        var metrics = await _client.GetStringAsync("metrics");
        Assert.Contains("# TYPE kepler_http_requests_total counter", metrics, StringComparison.Ordinal);
        Assert.Contains("kepler_members{state=\"alive\"} 1", metrics, StringComparison.Ordinal);
        Assert.Equal(0, await Nodes.MetricAsync(_client, "kepler_loop_errors_total"));
        // Exposition by prometheus-net (issue 18): a latency histogram by route, and the process/runtime metrics.
        Assert.Contains("# TYPE kepler_http_request_duration_seconds histogram", metrics, StringComparison.Ordinal);
        Assert.Contains(
            "kepler_http_request_duration_seconds_bucket{route=\"/api/status\",method=\"GET\",le=\"+Inf\"} ",
            metrics, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total ", metrics, StringComparison.Ordinal);
        Assert.Contains("dotnet_total_memory_bytes ", metrics, StringComparison.Ordinal);
        Assert.Contains("kepler_replication_lag_seconds 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_stream_as_server_sent_events()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await _client.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead,
            cancel.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token), Encoding.UTF8);
        Assert.Equal(": connected", await reader.ReadLineAsync(cancel.Token));
        await _client.PutAsync("api/files/sse.txt", new StringContent("event me"), cancel.Token);
        string? line;
        var ids = new List<long>();
        while ((line = await reader.ReadLineAsync(cancel.Token)) is not null)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                ids.Add(long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture));
            }

            if (line.StartsWith("data: ", StringComparison.Ordinal) && line.Contains("\"write.ack\"",
                    StringComparison.Ordinal) && line.Contains("sse.txt", StringComparison.Ordinal))
            {
                // Each event numbered from 1 within the subscription, none skipped: a reader sees a gap as loss.
                Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => (long)i), ids);
                return;
            }
        }

        Assert.Fail("the event stream ended without the write.ack of sse.txt");
    }
}
