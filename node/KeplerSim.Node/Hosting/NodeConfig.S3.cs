using KeplerSim.Core.Node;

namespace KeplerSim.Node.Hosting;

/// <summary>One S3 access key (S3_KEYS entry <c>access:secret</c>).</summary>
/// <param name="AccessKeyId">The public half, named in every signed request.</param>
/// <param name="Secret">The secret the signatures are keyed with.</param>
public sealed record S3Key(string AccessKeyId, string Secret)
{
    /// <summary>The access key id only: a secret never reaches a log.</summary>
    public override string ToString() => AccessKeyId;
}

public sealed partial record NodeConfig
{
    /// <summary>Most S3 access keys (S3_KEYS).</summary>
    public const int S3KeysMax = 1024;

    /// <summary>Longest S3_UPLOAD_EXPIRY: 30 days.</summary>
    public const int S3UploadExpirySecondsMax = 30 * 24 * 3600;

    /// <summary>S3 API port (S3_PORT, default 3900; 0 picks a free port). Opened only when S3_KEYS is set.</summary>
    public int S3Port { get; init; } = 3900;

    /// <summary>S3 access keys (S3_KEYS: <c>access:secret,…</c>); none = the S3 API is off.</summary>
    public IReadOnlyList<S3Key> S3Keys { get; init; } = [];

    /// <summary>The durability of S3 writes (S3_DURABILITY: all, quorum or fast; default quorum).</summary>
    public Durability S3Durability { get; init; } = Durability.Quorum;

    /// <summary>
    /// How long an unfinished multipart upload is kept before its parts are deleted (S3_UPLOAD_EXPIRY, default 24h).
    /// </summary>
    public int S3UploadExpirySeconds { get; init; } = 24 * 3600;

    /// <summary>
    /// The domain under which a request's Host names its bucket (virtual-host-style addressing:
    /// <c>bucket.S3_DOMAIN</c>; S3_DOMAIN, default <c>localhost</c>). Any other Host is path-style.
    /// </summary>
    public string S3Domain { get; init; } = "localhost";

    private static NodeConfig WithS3(NodeConfig config, Reader reader)
    {
        var s3 = config with
        {
            S3Port = reader.Int("S3_PORT", 3900, 0, 65535, "a port 1..65535 (0 picks a free one)"),
            S3Keys = ParseS3Keys(reader.Get("S3_KEYS")),
            S3Durability = reader.Get("S3_DURABILITY") switch
            {
                null or "quorum" => Durability.Quorum,
                "all" => Durability.All,
                "fast" => Durability.Fast,
                var other => throw new ConfigException("S3_DURABILITY",
                    $"'{other}' is invalid: expected all, quorum or fast"),
            },
            S3UploadExpirySeconds = reader.Seconds("S3_UPLOAD_EXPIRY", 24 * 3600, S3UploadExpirySecondsMax),
            S3Domain = (reader.Get("S3_DOMAIN") ?? "localhost").ToLowerInvariant(),
        };
        if (s3.S3Keys.Count > 0 && s3.S3Port != 0 && (s3.S3Port == s3.HttpPort || s3.S3Port == s3.TransferPort))
        {
            throw new ConfigException("S3_PORT", $"'{s3.S3Port}' is invalid: it must differ from HTTP_PORT and " +
                "TRANSFER_PORT");
        }

        return s3;
    }

    private static List<S3Key> ParseS3Keys(string? text)
    {
        var keys = new List<S3Key>();
        if (text is null)
        {
            return keys;
        }

        foreach (var entry in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var access = colon > 0 ? entry[..colon] : "";
            var secret = colon > 0 ? entry[(colon + 1)..] : "";
            if (access.Length is < 3 or > 128 || secret.Length is < 8 or > 128
                || !access.All(char.IsAsciiLetterOrDigit) || secret.Any(char.IsWhiteSpace))
            {
                throw new ConfigException("S3_KEYS", $"entry '{access}:…' is invalid: expected access:secret with " +
                    "an alphanumeric access key of 3..128 characters and a secret of 8..128 characters");
            }

            if (keys.Any(k => k.AccessKeyId == access))
            {
                throw new ConfigException("S3_KEYS", $"access key '{access}' is listed twice");
            }

            keys.Add(new S3Key(access, secret));
        }

        return keys.Count <= S3KeysMax
            ? keys
            : throw new ConfigException("S3_KEYS", $"{keys.Count} keys: at most {S3KeysMax}");
    }
}
