using System.Globalization;
using Amazon.Runtime;
using Amazon.S3;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests.S3;

/// <summary>Three kepler-node processes (static PEERS, RF 3, 4 MiB chunks), the S3 API on a free port each.</summary>
public sealed class S3ClusterFixture : IAsyncLifetime
{
    public const string AccessKey = "testaccess";
    public const string Secret = "testsecret-0123456789";

    private readonly TempDir _dir = new();

    public List<ProcessNode> Nodes { get; } = [];

    public List<int> S3Ports { get; } = [];

    public Uri S3Url(int node) => new($"http://127.0.0.1:{S3Ports[node]}");

    public Uri HttpUrl(int node) => Nodes[node].Spec.Url;

    /// <summary>An SDK client (path-style, plain HTTP) for one node.</summary>
    public AmazonS3Client Client(int node, string secret = Secret) => new(new BasicAWSCredentials(AccessKey, secret),
        new AmazonS3Config
        {
            ServiceURL = S3Url(node).ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            Timeout = TimeSpan.FromSeconds(120),
            MaxErrorRetry = 0,
        });

    public string TempPath(string name) => _dir.Sub(name);

    public async Task InitializeAsync()
    {
        var specs = new[] { "s1", "s2", "s3" }.Select(id => NodeSpec.Create(id, _dir)).ToList();
        foreach (var spec in specs)
        {
            var port = Ports.Free();
            S3Ports.Add(port);
            var node = new ProcessNode(spec, spec.Environment(specs,
                ("S3_PORT", port.ToString(CultureInfo.InvariantCulture)),
                ("S3_KEYS", $"{AccessKey}:{Secret},other:othersecret1")));
            Nodes.Add(node);
        }

        await Task.WhenAll(Nodes.Select(n => n.StartAsync()));
    }

    public Task DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            node.Dispose();
        }

        _dir.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition("s3")]
public sealed class S3Collection : ICollectionFixture<S3ClusterFixture>;
