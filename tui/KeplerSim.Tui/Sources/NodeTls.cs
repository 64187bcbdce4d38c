using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KeplerSim.Tui.Sources;

/// <summary>
/// Which https certificates the monitor trusts: the system's, a CA file (<c>--ca-cert</c>, KEPLER_CA_CERT: a
/// private CA or a node's self-signed certificate) or any (<c>--insecure</c>, test setups only).
/// </summary>
public static class NodeTls
{
    /// <summary>
    /// The HTTP handler for a real cluster; throws <see cref="IOException"/> when the CA file cannot be used.
    /// </summary>
    public static SocketsHttpHandler Handler(string? caPath, bool insecure)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = HttpClusterSource.RequestTimeout };
        if (insecure)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (!string.IsNullOrWhiteSpace(caPath))
        {
            var authorities = Load(caPath);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                Trusted(authorities, certificate, errors);
        }

        return handler;
    }

    private static X509Certificate2Collection Load(string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (CryptographicException e)
        {
            throw new IOException($"--ca-cert '{path}' cannot be used: {e.Message}", e);
        }

        return authorities.Count > 0 ? authorities : throw new IOException($"--ca-cert '{path}' holds no certificate");
    }

    /// <summary>Chains to one of the given authorities; a name mismatch still fails.</summary>
    private static bool Trusted(X509Certificate2Collection authorities, X509Certificate? certificate,
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
