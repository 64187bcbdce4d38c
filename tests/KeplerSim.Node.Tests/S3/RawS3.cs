using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace KeplerSim.Node.Tests.S3;

/// <summary>
/// Hand-signed S3 requests (SigV4, header auth) for what an SDK will not send: malformed XML, aws-chunked bodies
/// with a forged chunk. Written from the AWS documentation, independently of the node's verifier.
/// </summary>
public static class RawS3
{
    private const string Region = "us-east-1";

    public const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    public static Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, byte[] body,
        IReadOnlyDictionary<string, string>? headers = null) =>
        SendAsync(method, url, (_, _) => body, Hex(SHA256.HashData(body)), headers);

    /// <summary>Sends a request whose body is made from its X-Amz-Date and its signature (aws-chunked).</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url,
        Func<string, string, byte[]> body, string payloadHash, IReadOnlyDictionary<string, string>? headers = null,
        string accessKey = S3ClusterFixture.AccessKey, string secret = S3ClusterFixture.Secret,
        TimeSpan clockOffset = default, string? host = null)
    {
        var now = DateTime.UtcNow + clockOffset;
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = host ?? url.Authority,
            ["x-amz-content-sha256"] = payloadHash,
            ["x-amz-date"] = amzDate,
        };
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            all[name.ToLowerInvariant()] = value;
        }

        var signedHeaders = string.Join(';', all.Keys);
        var query = url.Query.TrimStart('?');
        var canonicalQuery = string.Join('&', (query.Length == 0 ? [] : query.Split('&'))
            .Select(p => p.Contains('=', StringComparison.Ordinal) ? p : p + "=").Order(StringComparer.Ordinal));
        var canonical = $"{method.Method}\n{url.AbsolutePath}\n{canonicalQuery}\n" +
            string.Concat(all.Select(h => $"{h.Key}:{h.Value}\n")) + $"\n{signedHeaders}\n{payloadHash}";
        var scope = $"{amzDate[..8]}/{Region}/s3/aws4_request";
        var key = SigningKey(secret, amzDate[..8]);
        var signature = Hex(Hmac(key, $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(
            Encoding.UTF8.GetBytes(canonical)))}"));
        using var request = new HttpRequestMessage(method, url)
        {
            Content = new ByteArrayContent(body(amzDate, signature)),
        };
        request.Headers.TryAddWithoutValidation("Authorization",
            $"AWS4-HMAC-SHA256 Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
        foreach (var (name, value) in all.Where(h => h.Key != "host"))
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        request.Headers.Host = host;
        request.Content.Headers.ContentType ??= new MediaTypeHeaderValue("application/octet-stream");
        using var client = new HttpClient();
        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>
    /// An aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) for <paramref name="data"/> in chunks of
    /// <paramref name="chunkBytes"/>, each chunk signature chained from <paramref name="seedSignature"/>.
    /// </summary>
    public static byte[] ChunkedBody(byte[] data, int chunkBytes, string secret, string amzDate, string seedSignature,
        Func<int, byte[], byte[]>? tamper = null)
    {
        var key = SigningKey(secret, amzDate[..8]);
        var scope = $"{amzDate[..8]}/{Region}/s3/aws4_request";
        var previous = seedSignature;
        using var body = new MemoryStream();
        var index = 0;
        for (var offset = 0; ; offset += chunkBytes, index++)
        {
            var chunk = offset >= data.Length
                ? []
                : data.AsSpan(offset, Math.Min(chunkBytes, data.Length - offset)).ToArray();
            var signature = Hex(Hmac(key, $"AWS4-HMAC-SHA256-PAYLOAD\n{amzDate}\n{scope}\n{previous}\n" +
                $"{Hex(SHA256.HashData([]))}\n{Hex(SHA256.HashData(chunk))}"));
            var sent = tamper?.Invoke(index, chunk) ?? chunk;
            body.Write(Encoding.ASCII.GetBytes($"{sent.Length:x};chunk-signature={signature}\r\n"));
            body.Write(sent);
            body.Write("\r\n"u8);
            previous = signature;
            if (chunk.Length == 0)
            {
                return body.ToArray();
            }
        }
    }

    public static string SigningKeyHex(string secret, string date) => Hex(SigningKey(secret, date));

    private static byte[] SigningKey(string secret, string date) =>
        Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), date), Region), "s3"), "aws4_request");

    private static byte[] Hmac(byte[] key, string text) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
