using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using KeplerSim.Core.Storage;

namespace KeplerSim.Node.Hosting;

/// <summary>What an API token may do; each role includes the ones below it (admin ⊇ write ⊇ read).</summary>
public enum ApiRole
{
    /// <summary>GET and HEAD of files, versions, content, status pages and the event stream.</summary>
    Read = 1,
    /// <summary>Also PUT and DELETE of files.</summary>
    Write = 2,
    /// <summary>Also operator endpoints (removing a member).</summary>
    Admin = 3,
}

/// <summary>One API token: a name (for logs and metrics), its secret and its role.</summary>
public sealed record ApiToken(string Name, string Secret, ApiRole Role)
{
    /// <summary>Never print the secret.</summary>
    public override string ToString() => $"{Name} ({Role})";
}

/// <summary>Who may read <c>/metrics</c> when API tokens are set (METRICS_AUTH).</summary>
public enum MetricsAuth
{
    /// <summary>A token with at least the read role (the default).</summary>
    Read,
    /// <summary>Anyone: for scrapers that cannot send a token.</summary>
    Open,
}

public sealed partial record NodeConfig
{
    /// <summary>Shortest API token secret.</summary>
    public const int TokenSecretLengthMin = 16;

    /// <summary>Most API tokens.</summary>
    public const int ApiTokensMax = 1024;

    /// <summary>
    /// API tokens (API_TOKENS: <c>name:secret:role,…</c>, or <c>@/path/file</c> with one <c>name:secret:role</c>
    /// per line); empty leaves the HTTP API open, as without the setting.
    /// </summary>
    public IReadOnlyList<ApiToken> ApiTokens { get; init; } = [];

    /// <summary>Who may read /metrics when tokens are set (METRICS_AUTH: read or open; default read).</summary>
    public MetricsAuth MetricsAuth { get; init; } = MetricsAuth.Read;

    /// <summary>The gateway's certificate and private key (TLS_CERT, TLS_KEY: PEM files); null = plain HTTP.</summary>
    public X509Certificate2? TlsCertificate { get; init; }

    /// <summary>
    /// The key chunk files are encrypted with at rest (ENCRYPTION_KEY: base64 of 32 bytes, or <c>@/path/file</c>
    /// holding it); null stores them in plaintext.
    /// </summary>
    public AtRestKey? EncryptionKey { get; init; }

    private static NodeConfig WithSecurity(NodeConfig config, Reader reader) => config with
    {
        ApiTokens = ParseApiTokens(reader.Get("API_TOKENS")),
        MetricsAuth = reader.Get("METRICS_AUTH")?.ToLowerInvariant() switch
        {
            null or "read" => MetricsAuth.Read,
            "open" => MetricsAuth.Open,
            var text => throw new ConfigException("METRICS_AUTH", $"'{text}' is invalid: expected read or open"),
        },
        TlsCertificate = LoadTls(reader.Get("TLS_CERT"), reader.Get("TLS_KEY")),
        EncryptionKey = ParseEncryptionKey(reader.Get("ENCRYPTION_KEY")),
    };

    /// <summary>A value, or the trimmed content of the file it names as <c>@path</c>.</summary>
    private static string ValueOrFile(string variable, string text)
    {
        if (!text.StartsWith('@'))
        {
            return text;
        }

        try
        {
            return File.ReadAllText(text[1..]).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ConfigException(variable, $"cannot read '{text[1..]}': {e.Message}");
        }
    }

    private static List<ApiToken> ParseApiTokens(string? text)
    {
        if (text is null)
        {
            return [];
        }

        const string Allowed = "expected name:secret:role (role read, write or admin; name of letters, digits, " +
            "'.', '_', '-'; secret of at least 16 characters without ':', ',' or spaces)";
        var fromFile = text.StartsWith('@');
        var items = ValueOrFile("API_TOKENS", text).Split(fromFile ? '\n' : ',',
            StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var tokens = new List<ApiToken>();
        var names = new SortedSet<string>(StringComparer.Ordinal);
        var secrets = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < items.Length; i++)
        {
            if (fromFile && items[i].StartsWith('#'))
            {
                continue;
            }

            // The entry is named by its position, never quoted: it holds a secret.
            var where = fromFile ? $"line {i + 1} of {text[1..]}" : $"entry {i + 1}";
            var match = TokenPattern().Match(items[i]);
            if (!match.Success || match.Groups["secret"].Length < TokenSecretLengthMin)
            {
                throw new ConfigException("API_TOKENS", $"{where} is invalid: {Allowed}");
            }

            var (name, secret) = (match.Groups["name"].Value, match.Groups["secret"].Value);
            if (!names.Add(name) || !secrets.Add(secret))
            {
                throw new ConfigException("API_TOKENS", $"{where}: its name or secret is used twice");
            }

            var role = Enum.Parse<ApiRole>(match.Groups["role"].Value, ignoreCase: true);
            tokens.Add(new ApiToken(name, secret, role));
        }

        return tokens.Count switch
        {
            0 => throw new ConfigException("API_TOKENS", $"is set but holds no token: {Allowed}"),
            > ApiTokensMax => throw new ConfigException("API_TOKENS", $"{tokens.Count} tokens: at most {ApiTokensMax}"),
            _ => tokens,
        };
    }

    private static X509Certificate2? LoadTls(string? certificate, string? key)
    {
        if (certificate is null && key is null)
        {
            return null;
        }

        if (certificate is null || key is null)
        {
            throw new ConfigException(certificate is null ? "TLS_CERT" : "TLS_KEY",
                "is required with " + (certificate is null ? "TLS_KEY" : "TLS_CERT") + ": both PEM files, or neither");
        }

        foreach (var (variable, path) in new[] { ("TLS_CERT", certificate), ("TLS_KEY", key) })
        {
            if (!File.Exists(path))
            {
                throw new ConfigException(variable, $"'{path}' does not exist: expected a PEM file");
            }
        }

        try
        {
            return X509Certificate2.CreateFromPemFile(certificate, key);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException
                                      or ArgumentException)
        {
            throw new ConfigException("TLS_CERT", $"'{certificate}' with key '{key}' cannot be used: {e.Message} " +
                "(expected a PEM certificate and the PEM private key that belongs to it)");
        }
    }

    private static AtRestKey? ParseEncryptionKey(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return AtRestKey.FromBase64(ValueOrFile("ENCRYPTION_KEY", text));
        }
        catch (FormatException e)
        {
            throw new ConfigException("ENCRYPTION_KEY", $"is invalid: {e.Message}");
        }
    }

    [GeneratedRegex("^(?<name>[A-Za-z0-9._-]{1,64}):(?<secret>[^:,\\s]+):(?<role>(?i:read|write|admin))$")]
    private static partial Regex TokenPattern();
}
