using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KeplerSim.Node.Cli;

/// <summary>
/// Which https certificates a client of the node trusts: the system's, a CA file (<c>--ca-cert</c>,
/// KEPLER_CA_CERT: a private CA or a node's self-signed certificate) or any (<c>--insecure</c>, test setups only:
/// it gives up the server's authentication). One source file compiled into both clients, kepler-node's client
/// commands and kepler-tui (linked from tui/KeplerSim.Tui.csproj).
/// </summary>
internal static class ClientTls
{
    /// <summary>Sets <paramref name="handler"/>'s certificate check; an unusable CA file throws IOException.</summary>
    public static void Configure(SocketsHttpHandler handler, string? caPath, bool insecure)
    {
        if (insecure)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (!string.IsNullOrWhiteSpace(caPath))
        {
            var authorities = Load(caPath);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                TrustedBy(authorities, certificate, errors);
        }
    }

    private static X509Certificate2Collection Load(string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new IOException($"--ca-cert '{path}' cannot be read: {e.Message}", e);
        }

        return authorities.Count > 0
            ? authorities
            : throw new IOException($"--ca-cert '{path}' holds no PEM certificate");
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
