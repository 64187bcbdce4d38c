using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// TLS_CERT and TLS_KEY on a real node process with a self-signed certificate made here: the API speaks https
/// only, and the CLI reaches it with --ca-cert (or --insecure) and fails without. Bad files are clear startup
/// errors.
/// </summary>
[Trait("Category", "Real")]
public sealed class TlsTests
{
    /// <summary>A self-signed certificate for 127.0.0.1 and localhost, written as PEM: (cert path, key path).</summary>
    internal static (string Certificate, string Key) SelfSigned(TempDir dir, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1")], false)); // Server authentication.
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1),
            DateTimeOffset.UtcNow.AddDays(1));
        var (certificatePath, keyPath) = (dir.Sub(name + ".crt"), dir.Sub(name + ".key"));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    /// <summary>A client that trusts exactly <paramref name="certificatePath"/> as its root.</summary>
    internal static HttpClient TrustingClient(Uri baseAddress, string certificatePath)
    {
        var authority = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            CustomTrustStore = { authority },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    [Fact]
    public async Task The_api_speaks_https_with_the_given_certificate_and_the_cli_trusts_a_ca_file()
    {
        using var dir = new TempDir();
        var (certificate, key) = SelfSigned(dir, "node");
        var spec = NodeSpec.Create("tls", dir);
        var https = new Uri($"https://127.0.0.1:{spec.HttpPort}/");
        using var node = new ProcessNode(spec, spec.Environment([], ("TLS_CERT", certificate), ("TLS_KEY", key),
            ("API_TOKENS", ApiTokenTests.Tokens)), readyClient: () => TrustingClient(https, certificate));
        await node.StartAsync();

        using var client = TrustingClient(https, certificate);
        var data = Nodes.RandomBytes(200_000);
        using (var put = ApiTokenTests.Request(HttpMethod.Put, "api/files/tls/a.bin", "write-secret-0123456789", data))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(put)).StatusCode);
        }

        using (var get = ApiTokenTests.Request(HttpMethod.Get, "api/files/tls/a.bin", "read-secret-0123456789"))
        {
            Assert.Equal(data, await (await client.SendAsync(get)).Content.ReadAsByteArrayAsync());
        }

        // Plain http to the same port gets no API: the listener speaks TLS only.
        using var plain = Nodes.Client(spec.Url);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync("health"));

        var token = new Dictionary<string, string?> { ["KEPLER_TOKEN"] = "read-secret-0123456789" };
        var (code, output, error) = await ApiTokenTests.RunCliAsync(token, "status", "--node", https.ToString(),
            "--ca-cert", certificate);
        Assert.True(code == 0, error);
        Assert.Contains("\"nodeId\": \"tls\"", output, StringComparison.Ordinal);
        (code, _, error) = await ApiTokenTests.RunCliAsync(token, "status", "--node", https.ToString());
        Assert.Equal(1, code);
        Assert.Contains("cannot reach", error, StringComparison.Ordinal);
        (code, _, error) = await ApiTokenTests.RunCliAsync(token, "status", "--node", https.ToString(), "--insecure");
        Assert.True(code == 0, error);
    }

    [Fact]
    public async Task Missing_or_mismatched_tls_files_stop_the_node_with_a_clear_error()
    {
        using var dir = new TempDir();
        var (certificate, _) = SelfSigned(dir, "one");
        var (_, otherKey) = SelfSigned(dir, "two");
        var spec = NodeSpec.Create("tls-bad", dir);
        var (code, error) = await ApiTokenTests.StartExpectingFailureAsync(spec.Environment([],
            ("TLS_CERT", certificate), ("TLS_KEY", otherKey)));
        Assert.Equal(2, code);
        Assert.Contains("invalid setting TLS_CERT", error, StringComparison.Ordinal);
        Assert.Contains("private key that belongs to it", error, StringComparison.Ordinal);

        (code, error) = await ApiTokenTests.StartExpectingFailureAsync(spec.Environment([],
            ("TLS_CERT", dir.Sub("missing.crt")), ("TLS_KEY", otherKey)));
        Assert.Equal(2, code);
        Assert.Contains("missing.crt' does not exist", error, StringComparison.Ordinal);

        var alone = Assert.Throws<ConfigException>(() => NodeConfig.Load(new Dictionary<string, string?>
        {
            ["NODE_ID"] = "n1", ["TLS_CERT"] = certificate,
        }));
        Assert.Equal("TLS_KEY", alone.Variable);
    }
}
