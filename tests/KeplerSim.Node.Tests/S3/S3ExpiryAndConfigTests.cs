using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests.S3;

[Trait("Category", "Real")]
public sealed class S3ExpiryAndConfigTests
{
    private static Dictionary<string, string?> Environment(params (string, string?)[] settings)
    {
        var environment = new Dictionary<string, string?> { ["NODE_ID"] = "n1", ["DATA_DIR"] = "/tmp/unused" };
        foreach (var (name, value) in settings)
        {
            environment[name] = value;
        }

        return environment;
    }

    [Fact]
    public async Task An_abandoned_multipart_upload_is_deleted_after_S3_UPLOAD_EXPIRY()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("solo", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("S3_PORT", "0"),
            ("S3_KEYS", "expiry:expirysecret"), ("S3_UPLOAD_EXPIRY", "2s"), ("REPLICATION_FACTOR", "1")));
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("expiry", "expirysecret"), new AmazonS3Config
        {
            ServiceURL = host.S3Address!.ToString(), ForcePathStyle = true, AuthenticationRegion = "us-east-1",
        });
        await s3.PutBucketAsync("bkt-expiry");
        var upload = await s3.InitiateMultipartUploadAsync("bkt-expiry", "abandoned");
        await s3.UploadPartAsync(new UploadPartRequest
        {
            BucketName = "bkt-expiry", Key = "abandoned", UploadId = upload.UploadId, PartNumber = 1,
            InputStream = new MemoryStream(Nodes.RandomBytes(1000)),
        });
        Assert.Single((await s3.ListMultipartUploadsAsync("bkt-expiry")).MultipartUploads);

        await Wait.WaitUntil(async () =>
            (await s3.ListMultipartUploadsAsync("bkt-expiry")).MultipartUploads is null or { Count: 0 },
            TimeSpan.FromSeconds(30), "the abandoned upload to expire");
        var hidden = await host.Loop.InvokeAsync(() => host.Node.ListAsync(".kepler/s3/uploads/"));
        Assert.Empty(hidden.Files);
        var error = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.ListPartsAsync("bkt-expiry", "abandoned",
            upload.UploadId));
        Assert.Equal("NoSuchUpload", error.ErrorCode);
    }

    [Fact]
    public async Task Without_S3_KEYS_the_port_stays_closed()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("solo", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([]));
        Assert.Null(host.S3Address);
    }

    [Fact]
    public void S3_settings_are_parsed_and_bad_values_named()
    {
        var config = NodeConfig.Load(Environment(("S3_KEYS", "ak1:secret123, ak2:secret456"), ("S3_PORT", "3901"),
            ("S3_DURABILITY", "all"), ("S3_UPLOAD_EXPIRY", "15m")));
        Assert.Equal(["ak1", "ak2"], config.S3Keys.Select(k => k.AccessKeyId));
        Assert.Equal("secret456", config.S3Keys[1].Secret);
        Assert.Equal(3901, config.S3Port);
        Assert.Equal(Core.Node.Durability.All, config.S3Durability);
        Assert.Equal(900, config.S3UploadExpirySeconds);
        var defaults = NodeConfig.Load(Environment());
        Assert.Equal((3900, Core.Node.Durability.Quorum, 86_400), (defaults.S3Port, defaults.S3Durability,
            defaults.S3UploadExpirySeconds));
        Assert.Empty(defaults.S3Keys);
        Assert.DoesNotContain("secret123", string.Join(",", config.S3Keys), StringComparison.Ordinal);

        foreach (var (name, value) in new[]
        {
            ("S3_KEYS", "nocolon"), ("S3_KEYS", "ak:short"), ("S3_KEYS", "ak1:secret123,ak1:secret456"),
            ("S3_DURABILITY", "sometimes"), ("S3_PORT", "70000"), ("S3_UPLOAD_EXPIRY", "0"),
        })
        {
            var error = Assert.Throws<ConfigException>(() => NodeConfig.Load(Environment((name, value))));
            Assert.Equal(name, error.Variable);
        }

        var clash = Assert.Throws<ConfigException>(() => NodeConfig.Load(Environment(("S3_KEYS", "ak1:secret123"),
            ("S3_PORT", "3000"))));
        Assert.Equal("S3_PORT", clash.Variable);
    }
}
