using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KeplerSim.Node.Cli;

/// <summary>
/// How the client commands reach a node: its API token (<c>--token</c> or KEPLER_TOKEN, sent as
/// <c>Authorization: Bearer</c>) and, for https, which certificates to trust: the system's, a CA file
/// (<c>--ca-cert</c> or KEPLER_CA_CERT, for a private CA or a self-signed certificate) or, with
/// <c>--insecure</c>, any (tests only: it gives up the server's authentication).
/// </summary>
internal static class ClientConnection
{
    public static readonly Option<string?> TokenOption = new("--token")
    {
        Description = "API token sent as 'Authorization: Bearer' [default: env KEPLER_TOKEN]",
        Recursive = true,
    };

    public static readonly Option<FileInfo?> CaCertOption = new("--ca-cert")
    {
        Description = "PEM file of the CA (or self-signed certificate) to trust for https [default: env " +
            "KEPLER_CA_CERT]",
        Recursive = true,
    };

    public static readonly Option<bool> InsecureOption = new("--insecure")
    {
        Description = "Accept any https certificate (self-signed test setups only)",
        Recursive = true,
    };

    /// <summary>The client for <paramref name="baseUri"/>; a bad CA file throws <see cref="ArgumentException"/>.
    /// </summary>
    public static HttpClient Create(ParseResult parse, Uri baseUri)
    {
        var token = parse.GetValue(TokenOption) ?? Environment.GetEnvironmentVariable("KEPLER_TOKEN");
        var caPath = parse.GetValue(CaCertOption)?.FullName ?? Environment.GetEnvironmentVariable("KEPLER_CA_CERT");
        var handler = new SocketsHttpHandler();
        if (parse.GetValue(InsecureOption))
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (!string.IsNullOrWhiteSpace(caPath))
        {
            var authorities = LoadAuthorities(caPath);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                TrustedBy(authorities, certificate, errors);
        }

        var client = new HttpClient(handler) { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrWhiteSpace(token))
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        }

        return client;
    }

    private static X509Certificate2Collection LoadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ArgumentException($"--ca-cert '{path}' cannot be read: {e.Message}", e);
        }

        return authorities.Count > 0
            ? authorities
            : throw new ArgumentException($"--ca-cert '{path}' holds no PEM certificate");
    }

    /// <summary>
    /// Whether the server's certificate chains to one of <paramref name="authorities"/>; a name mismatch still
    /// fails (only the chain's trust anchor is replaced).
    /// </summary>
    private static bool TrustedBy(X509Certificate2Collection authorities, X509Certificate? certificate,
        SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var server = new X509Certificate2(certificate);
        return chain.Build(server);
    }
}
