using System.Globalization;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests.S3;

/// <summary>
/// With TLS_CERT and TLS_KEY the S3 port of a real node process speaks https with the same certificate as the
/// gateway: the AWS SDK, trusting that self-signed certificate, puts, gets and lists; plain http to the port fails
/// without an answer and leaves the listener serving.
/// </summary>
[Trait("Category", "Real")]
public sealed class S3TlsTests
{
    private const string AccessKey = "tlsaccess";
    private const string Secret = "tls-secret-0123456789";

    /// <summary>Hands the SDK an <see cref="HttpClient"/> that trusts exactly the test's certificate.</summary>
    private sealed class TrustingFactory(string certificatePath) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) =>
            TlsTests.TrustingClient(new Uri(clientConfig.ServiceURL), certificatePath);
    }

    private static AmazonS3Client Client(Uri url, HttpClientFactory? factory) =>
        new(new BasicAWSCredentials(AccessKey, Secret), new AmazonS3Config
        {
            ServiceURL = url.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            HttpClientFactory = factory,
            Timeout = TimeSpan.FromSeconds(60),
            MaxErrorRetry = 0,
        });

    [Fact]
    public async Task The_sdk_puts_gets_and_lists_over_https_and_plain_http_to_the_port_fails()
    {
        using var dir = new TempDir();
        var (certificate, key) = TlsTests.SelfSigned(dir, "s3node");
        var spec = NodeSpec.Create("s3tls", dir);
        var port = Ports.Free();
        var https = new Uri($"https://127.0.0.1:{port}/");
        using var node = new ProcessNode(spec, spec.Environment([], ("TLS_CERT", certificate), ("TLS_KEY", key),
                ("S3_PORT", port.ToString(CultureInfo.InvariantCulture)), ("S3_KEYS", $"{AccessKey}:{Secret}"),
                ("REPLICATION_FACTOR", "1")),
            readyClient: () => TlsTests.TrustingClient(new Uri($"https://127.0.0.1:{spec.HttpPort}/"), certificate));
        await node.StartAsync();

        using var s3 = Client(https, new TrustingFactory(certificate));
        await s3.PutBucketAsync("bkt-tls");
        var data = Nodes.RandomBytes(3 * 1024 * 1024 + 17);
        var put = await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "bkt-tls", Key = "dir/over-tls.bin", InputStream = new MemoryStream(data),
        });
        Assert.Equal(HttpStatusCode.OK, put.HttpStatusCode);
        using (var get = await s3.GetObjectAsync("bkt-tls", "dir/over-tls.bin"))
        {
            using var copy = new MemoryStream();
            await get.ResponseStream.CopyToAsync(copy);
            Assert.Equal(data, copy.ToArray());
            Assert.Equal(put.ETag, get.ETag);
        }

        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bkt-tls" });
        Assert.Equal(("dir/over-tls.bin", (long)data.Length),
            (Assert.Single(listed.S3Objects).Key, listed.S3Objects[0].Size!.Value));

        // A client that does not trust the certificate is refused by its own TLS check: this is the node's
        // certificate, not a plain listener.
        using (var untrusting = Client(https, factory: null))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => untrusting.ListBucketsAsync());
        }

        // Plain http to the TLS port gets no S3 answer at all (the listener speaks TLS only), and it stays up.
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync($"http://127.0.0.1:{port}/bkt-tls"));
        using (var plainSdk = Client(new Uri($"http://127.0.0.1:{port}/"), factory: null))
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(() => plainSdk.ListBucketsAsync());
            Assert.IsNotType<AmazonS3Exception>(error); // No S3 error document came back over plain http.
        }

        Assert.Contains((await s3.ListBucketsAsync()).Buckets, b => b.BucketName == "bkt-tls");
    }
}
