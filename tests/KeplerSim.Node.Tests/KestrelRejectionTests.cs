using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// Requests Kestrel rejects itself, before any application code runs, used to be answered with an empty body
/// (issue 18: "400 (%00 in a path)", "431 (huge header)"). They are now the listener's error shape: JSON
/// <c>{code, message}</c> on the API port (plain and TLS), S3's error XML on the S3 port. Sent over raw sockets,
/// since HttpClient will not send most of them.
/// </summary>
[Trait("Category", "Real")]
public sealed class KestrelRejectionTests(KestrelRejectionTests.Fixture fixture)
    : IClassFixture<KestrelRejectionTests.Fixture>
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What Kestrel writes for a rejection: the bytes a stored file must come back as, unchanged.</summary>
    private static readonly byte[] KestrelLikeRejection = Encoding.ASCII.GetBytes(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n" +
        "Date: Sun, 06 Dec 2026 18:00:00 GMT\r\n\r\n");

    public static TheoryData<string, string, int, string, string> ApiCases => new()
    {
        { "NUL in the path", "GET /api/files/a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request",
            "Invalid request target: '/api/files/a%00b'" },
        { "garbage request line", "GARBAGE \u0001\r\n\r\n", 400, "bad_request",
            "Invalid request line: 'GARBAGE \\x01\\x0D'" },
        { "headers over Kestrel's 256 KiB", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " +
            new string('a', 300_000) + "\r\n\r\n", 431, "headers_too_large", "Request headers too long" },
        { "target over Kestrel's 64 KiB", "GET /api/files/" + new string('a', 70_000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
            414, "uri_too_long", "Request line too long" },
        { "body framing that is not chunked", "PUT /api/files/f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            400, "bad_request", "final transfer coding" },
        { "HTTP/1.0 POST without a length", "POST /api/files/f HTTP/1.0\r\nHost: x\r\n\r\n", 400, "bad_request",
            "Content-Length" },
    };

    [Theory]
    [MemberData(nameof(ApiCases))]
    public async Task A_request_kestrel_rejects_gets_the_api_json_error(string what, string request, int status,
        string code, string message)
    {
        using var tcp = await ConnectAsync(fixture.Host.HttpAddress);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var response = await ReadResponseAsync(stream, what);
        AssertJsonError(response, status, code, message);
        Assert.True(await IsClosedAsync(stream), $"{what}: the connection is closed after the rejection");
    }

    /// <summary>
    /// A stored file whose bytes are exactly what Kestrel writes for a rejection is served unchanged on a keep-alive
    /// connection, and the rejected request after it gets JSON: only bytes written after the rejection are replaced.
    /// Sent one after the other, and pipelined in one write (the second request is then parsed the moment the first
    /// response is flushed).
    /// </summary>
    [Fact]
    public async Task A_stored_file_that_looks_like_a_rejection_comes_back_unchanged_before_a_rejected_request()
    {
        using var client = Nodes.Client(fixture.Host.HttpAddress);
        using (var put = await client.PutAsync("api/files/looks-like-400.txt",
            new ByteArrayContent(KestrelLikeRejection)))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        const string Get = "GET /api/files/looks-like-400.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        const string Bad = "GET /api/files/a%00b HTTP/1.1\r\nHost: x\r\n\r\n";
        using (var tcp = await ConnectAsync(fixture.Host.HttpAddress))
        {
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Get));
            var file = await ReadResponseAsync(stream, "the file, sent alone");
            Assert.Equal(200, file.Status);
            Assert.Equal(KestrelLikeRejection, file.Body);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Bad));
            AssertJsonError(await ReadResponseAsync(stream, "the rejection after the file"), 400, "bad_request",
                "Invalid request target");
        }

        using (var tcp = await ConnectAsync(fixture.Host.HttpAddress))
        {
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Get + Bad));
            var file = await ReadResponseAsync(stream, "the file, pipelined");
            Assert.Equal(200, file.Status);
            Assert.Equal(KestrelLikeRejection, file.Body);
            AssertJsonError(await ReadResponseAsync(stream, "the pipelined rejection"), 400, "bad_request",
                "Invalid request target");
        }
    }

    /// <summary>
    /// An HTTP/2 client speaking prior knowledge to the HTTP/1.1 port gets Kestrel's GOAWAY frame, not an HTTP/1
    /// response: a rejection whose bytes are not an HTTP/1 response goes out as Kestrel wrote it.
    /// </summary>
    [Fact]
    public async Task An_http2_preface_on_the_http1_port_still_gets_kestrels_goaway()
    {
        using var tcp = await ConnectAsync(fixture.Host.HttpAddress);
        var stream = tcp.GetStream();
        await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        var frame = await ReadToEndAsync(stream, "the GOAWAY frame");
        Assert.True(frame.Length >= 9, $"a frame header, got {frame.Length} bytes");
        Assert.Equal([0, 0, 8, 7], frame[..4]); // Payload length 8, type 7 (GOAWAY).
    }

    [Fact]
    public async Task A_request_kestrel_rejects_on_the_s3_port_gets_s3_error_xml()
    {
        var s3 = fixture.Host.S3Address!;
        using (var tcp = await ConnectAsync(s3))
        {
            var stream = tcp.GetStream();
            await stream.WriteAsync("GET /bucket/a%00b HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            AssertS3Error(await ReadResponseAsync(stream, "the S3 rejection"), 400, "InvalidRequest",
                "Invalid request target");
        }

        using (var tcp = await ConnectAsync(s3))
        {
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /bucket/key HTTP/1.1\r\nHost: x\r\nX-Big: " +
                new string('a', 40_000) + "\r\n\r\n"));
            AssertS3Error(await ReadResponseAsync(stream, "the S3 header rejection"), 431,
                "RequestHeaderSectionTooLarge", "Request headers too long");
        }
    }

    /// <summary>
    /// Over TLS the rewrite sits inside the encryption (after UseHttps): an HTTP/1.1 rejection is JSON, and an
    /// HTTP/2 connection (ALPN h2), which the rewrite leaves alone, still serves requests.
    /// </summary>
    [Fact]
    public async Task Over_tls_a_request_kestrel_rejects_gets_json_and_http2_still_works()
    {
        using var dir = new TempDir();
        var (certificate, key) = TlsTests.SelfSigned(dir, "node");
        var spec = NodeSpec.Create("tls-reject", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("TLS_CERT", certificate),
            ("TLS_KEY", key)));
        using (var tcp = await ConnectAsync(host.HttpAddress))
        {
            await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
            await tls.WriteAsync("GET /api/files/a%00b HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            AssertJsonError(await ReadResponseAsync(tls, "the TLS rejection"), 400, "bad_request",
                "Invalid request target");
        }

        using var client = TlsTests.TrustingClient(new Uri($"https://127.0.0.1:{spec.HttpPort}/"), certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, "health")
        {
            Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var health = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpVersion.Version20, health.Version);
    }

    private static void AssertJsonError(RawResponse response, int status, string code, string message)
    {
        var text = Encoding.UTF8.GetString(response.Body);
        Assert.True(response.Status == status, $"expected {status}, got {response.Status}: {text}");
        Assert.Equal("application/json", response.Header("Content-Type"));
        Assert.Equal("close", response.Header("Connection"));
        var json = JsonSerializer.Deserialize<JsonElement>(text);
        Assert.Equal(code, json.GetProperty("code").GetString());
        Assert.Contains(message, json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static void AssertS3Error(RawResponse response, int status, string code, string message)
    {
        var text = Encoding.UTF8.GetString(response.Body);
        Assert.True(response.Status == status, $"expected {status}, got {response.Status}: {text}");
        Assert.Equal("application/xml", response.Header("Content-Type"));
        var error = XDocument.Parse(text).Root!;
        XNamespace s3 = "http://s3.amazonaws.com/doc/2006-03-01/";
        Assert.Equal(s3 + "Error", error.Name);
        Assert.Equal(code, error.Element(s3 + "Code")?.Value);
        Assert.Contains(message, error.Element(s3 + "Message")?.Value, StringComparison.Ordinal);
    }

    private static async Task<TcpClient> ConnectAsync(Uri address)
    {
        var tcp = new TcpClient();
        await Within(tcp.ConnectAsync(address.Host, address.Port), "the connection");
        return tcp;
    }

    /// <summary>One HTTP/1.1 response with a Content-Length body (or none), read within the timeout.</summary>
    private static async Task<RawResponse> ReadResponseAsync(Stream stream, string what)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !head[^4..].SequenceEqual("\r\n\r\n"u8.ToArray()))
        {
            Assert.True(head.Count < 64 * 1024, $"{what}: the response head ends within 64 KiB");
            var read = await Within(stream.ReadAsync(one).AsTask(), what);
            Assert.True(read == 1, $"{what}: the connection closed after {head.Count} bytes of the head: " +
                Encoding.ASCII.GetString([.. head]));
            head.Add(one[0]);
        }

        var lines = Encoding.ASCII.GetString([.. head]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2))
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = new byte[headers.TryGetValue("Content-Length", out var length) ? int.Parse(length,
            System.Globalization.CultureInfo.InvariantCulture) : 0];
        await Within(stream.ReadExactlyAsync(body).AsTask(), what + " (its body)");
        return new RawResponse(int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture),
            headers, body);
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream, string what)
    {
        using var all = new MemoryStream();
        await Within(stream.CopyToAsync(all), what);
        return all.ToArray();
    }

    private static async Task<bool> IsClosedAsync(Stream stream) =>
        await Within(stream.ReadAsync(new byte[1]).AsTask(), "the connection to close") == 0;

    private static async Task<T> Within<T>(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(ReadTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{what}: nothing within {ReadTimeout.TotalSeconds} s");
        }
    }

    private static async Task Within(Task task, string what)
    {
        try
        {
            await task.WaitAsync(ReadTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{what}: nothing within {ReadTimeout.TotalSeconds} s");
        }
    }

    private sealed record RawResponse(int Status, Dictionary<string, string> Headers, byte[] Body)
    {
        public string? Header(string name) => Headers.GetValueOrDefault(name);
    }

    /// <summary>One node with the S3 port open.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly TempDir _dir = new();

        public NodeHost Host { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var spec = NodeSpec.Create("reject", _dir);
            Host = await Nodes.StartInProcessAsync(spec.Environment([], ("S3_PORT", "0"),
                ("S3_KEYS", "rejectkey:rejectsecret1")));
        }

        public async Task DisposeAsync()
        {
            await Host.DisposeAsync();
            _dir.Dispose();
        }
    }
}
