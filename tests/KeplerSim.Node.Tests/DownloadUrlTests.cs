using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// Signed download URLs (POST /api/download-url) on a real node process with API tokens: the URL downloads its
/// one file and version with no token, by GET or HEAD only, until it expires; anything else is 403 with a code
/// that says why. The browser UI downloads through them, so a secured download streams to disk.
/// </summary>
[Trait("Category", "Real")]
public sealed class DownloadUrlTests
{
    private const string ReadSecret = "read-secret-0123456789";
    private const string WriteSecret = "write-secret-0123456789";
    private const string Tokens = $"reader:{ReadSecret}:read,writer:{WriteSecret}:write";

    [Fact]
    public async Task A_signed_url_downloads_its_file_without_a_token_by_get_or_head_only()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("signed", dir);
        using var node = new ProcessNode(spec, spec.Environment([], ("API_TOKENS", Tokens)));
        await node.StartAsync();
        using var client = Nodes.Client(spec.Url);
        var data = Nodes.RandomBytes(300_000);
        var other = Nodes.RandomBytes(1000);
        await PutAsync(client, "t/a b.bin", data);
        await PutAsync(client, "t/other.bin", other);

        var signed = await SignAsync(client, new { path = "t/a b.bin" });
        var url = signed.GetProperty("url").GetString()!;
        Assert.StartsWith("/api/files/t/a%20b.bin?version=", url, StringComparison.Ordinal);
        Assert.Contains("&sig=", url, StringComparison.Ordinal);
        using (var get = await client.GetAsync(url[1..]))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(data, await get.Content.ReadAsByteArrayAsync());
        }

        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url[1..])))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(data.Length, head.Content.Headers.ContentLength);
        }

        // Never a write: the URL grants reading this one file, nothing else.
        await ForbiddenAsync(client, HttpMethod.Put, url, Nodes.RandomBytes(10), "download_url_invalid");
        await ForbiddenAsync(client, HttpMethod.Delete, url, null, "download_url_invalid");
        using (var still = ApiTokenTests.Request(HttpMethod.Get, "api/files/t/a%20b.bin", ReadSecret))
        {
            Assert.Equal(data, await (await client.SendAsync(still)).Content.ReadAsByteArrayAsync());
        }

        // Only that path and version, and an untouched signature.
        var query = url[url.IndexOf('?', StringComparison.Ordinal)..];
        await ForbiddenAsync(client, HttpMethod.Get, "/api/files/t/other.bin" + query, null, "download_url_invalid");
        await ForbiddenAsync(client, HttpMethod.Get, "/api/files/t/" + query, null, "download_url_invalid");
        await ForbiddenAsync(client, HttpMethod.Get, Tamper(url), null, "download_url_invalid");
        var expires = signed.GetProperty("expiresUnixSeconds").GetInt64();
        await ForbiddenAsync(client, HttpMethod.Get, url.Replace($"expires={expires}", $"expires={expires + 3600}",
            StringComparison.Ordinal), null, "download_url_invalid");
        var otherVersion = (await SignAsync(client, new { path = "t/other.bin" })).GetProperty("version").GetString()!;
        await ForbiddenAsync(client, HttpMethod.Get, url.Replace(Uri.EscapeDataString(
            signed.GetProperty("version").GetString()!), Uri.EscapeDataString(otherVersion),
            StringComparison.Ordinal), null, "download_url_invalid");
    }

    [Fact]
    public async Task A_signed_url_stops_working_when_it_expires()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("expiry", dir);
        using var node = new ProcessNode(spec, spec.Environment([], ("API_TOKENS", Tokens)));
        await node.StartAsync();
        using var client = Nodes.Client(spec.Url);
        var data = Nodes.RandomBytes(1000);
        await PutAsync(client, "e/x.bin", data);

        // A one-second URL expires by itself (no sleep: wait, bounded, for the node to refuse it).
        var shortLived = await SignAsync(client, new { path = "e/x.bin", lifetimeSeconds = 1 });
        var url = shortLived.GetProperty("url").GetString()!;
        await Wait.WaitUntil(async () =>
        {
            using var response = await client.GetAsync(url[1..]);
            return response.StatusCode == HttpStatusCode.Forbidden
                && (await Nodes.JsonAsync(response)).GetProperty("code").GetString() == "download_url_expired";
        }, TimeSpan.FromSeconds(15), "a one-second download URL to answer 403 download_url_expired");

        // Signed here by the documented algorithm (docs/SECURITY.md): the node accepts it before its expiry and
        // calls it expired, not invalid, after it: the signature is checked first.
        var version = shortLived.GetProperty("version").GetString()!;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using (var fresh = await client.GetAsync(SignHere("e/x.bin", version, now + 120)[1..]))
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
            Assert.Equal(data, await fresh.Content.ReadAsByteArrayAsync());
        }

        await ForbiddenAsync(client, HttpMethod.Get, SignHere("e/x.bin", version, now - 60), null,
            "download_url_expired");
    }

    [Fact]
    public async Task Asking_for_a_url_needs_a_token_and_a_file()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("asking", dir);
        using var node = new ProcessNode(spec, spec.Environment([], ("API_TOKENS", Tokens)));
        await node.StartAsync();
        using var client = Nodes.Client(spec.Url);
        await PutAsync(client, "q/x.bin", Nodes.RandomBytes(10));

        await Nodes.AssertErrorAsync(await client.PostAsJsonAsync("api/download-url", new { path = "q/x.bin" }), 401,
            "unauthorized");
        await Nodes.AssertErrorAsync(await PostAsync(client, new { path = "q/none.bin" }), 404, "not_found");
        await Nodes.AssertErrorAsync(await PostAsync(client, new { path = "q/" }), 400, "invalid_path");
        await Nodes.AssertErrorAsync(await PostAsync(client, new { path = "q/x.bin", lifetimeSeconds = 0 }), 400,
            "invalid_request");
        await Nodes.AssertErrorAsync(await PostAsync(client, new { path = "q/x.bin", lifetimeSeconds = 901 }), 400,
            "invalid_request");
        await Nodes.AssertErrorAsync(await PostAsync(client, new { path = "q/x.bin", version = "nope" }), 400,
            "invalid_version");
        using var notJson = ApiTokenTests.Request(HttpMethod.Post, "api/download-url", ReadSecret,
            Encoding.UTF8.GetBytes("{"));
        notJson.Content!.Headers.ContentType = new("application/json");
        await Nodes.AssertErrorAsync(await client.SendAsync(notJson), 400, "invalid_request");

        // The OpenAPI document describes the endpoint and how a signed URL is refused.
        using var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        Assert.Equal("DownloadFileUrl",
            paths.GetProperty("/api/download-url").GetProperty("post").GetProperty("operationId").GetString());
        var get = paths.GetProperty("/api/files/{path}").GetProperty("get");
        Assert.Contains("download_url_expired",
            get.GetProperty("responses").GetProperty("403").GetProperty("description").GetString(),
            StringComparison.Ordinal);
        Assert.Contains(get.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "sig");
    }

    private static async Task PutAsync(HttpClient client, string path, byte[] data)
    {
        using var put = ApiTokenTests.Request(HttpMethod.Put, "api/files/" + string.Join('/',
            path.Split('/').Select(Uri.EscapeDataString)), WriteSecret, data);
        using var response = await client.SendAsync(put);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/download-url")
        {
            Content = JsonContent.Create(body),
        };
        request.Headers.Authorization = new("Bearer", ReadSecret);
        return await client.SendAsync(request);
    }

    private static async Task<System.Text.Json.JsonElement> SignAsync(HttpClient client, object body)
    {
        using var response = await PostAsync(client, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await Nodes.JsonAsync(response);
    }

    private static async Task ForbiddenAsync(HttpClient client, HttpMethod method, string url, byte[]? body,
        string code)
    {
        using var request = ApiTokenTests.Request(method, url[1..], null, body);
        await Nodes.AssertErrorAsync(await client.SendAsync(request), 403, code);
    }

    /// <summary>Changes one character of the signature.</summary>
    private static string Tamper(string url)
    {
        var at = url.IndexOf("&sig=", StringComparison.Ordinal) + 5;
        return url[..at] + (url[at] == 'A' ? 'B' : 'A') + url[(at + 1)..];
    }

    /// <summary>docs/SECURITY.md's recipe, for the reader token.</summary>
    private static string SignHere(string path, string version, long expires)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(ReadSecret), 32, [],
            Encoding.UTF8.GetBytes("keplerfs download url v1"));
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"GET\n{path}\n{version}\n{expires}")));
        return $"/api/files/{path}?version={Uri.EscapeDataString(version)}&expires={expires}&by=reader" +
            $"&sig={Base64Url.EncodeToString(mac)}";
    }
}
