using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.S3;

/// <summary>One authenticated S3 request: its bucket and key (path- or virtual-host-style) and its query.</summary>
internal sealed record S3Call(HttpContext Context, SignedRequest Signed, S3Query Query, string? Bucket, string? Key)
{
    /// <summary>Sub-resources S3 has and KeplerFS does not implement (answered 501 NotImplemented).</summary>
    private static readonly string[] Unsupported =
    [
        "acl", "policy", "policyStatus", "cors", "lifecycle", "tagging", "versioning", "versions", "website",
        "logging", "notification", "replication", "encryption", "object-lock", "retention", "legal-hold", "torrent",
        "restore", "select", "accelerate", "analytics", "inventory", "metrics", "ownershipControls",
        "publicAccessBlock", "requestPayment", "intelligent-tiering", "attributes", "versionId", "uploadPart",
    ];

    public HttpRequest Request => Context.Request;

    public HttpResponse Response => Context.Response;

    public string Method => Request.Method;

    /// <summary>The store path of the object: <c>bucket/key</c>.</summary>
    public string Path => $"{Bucket}/{Key}";

    public static S3Call Create(HttpContext context, SignedRequest signed, string domain)
    {
        var query = S3Query.Parse(context.Request);
        var path = S3Query.RawPath(context.Request);
        var host = context.Request.Host.Host.ToLowerInvariant();
        string? bucket;
        string rest;
        if (host.Length > domain.Length + 1 && host.EndsWith("." + domain, StringComparison.Ordinal))
        {
            bucket = host[..^(domain.Length + 1)];
            rest = path.TrimStart('/');
        }
        else
        {
            var trimmed = path.TrimStart('/');
            var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
            bucket = slash < 0 ? trimmed : trimmed[..slash];
            rest = slash < 0 ? "" : trimmed[(slash + 1)..];
        }

        if (query.Names.FirstOrDefault(n => Unsupported.Contains(n, StringComparer.Ordinal)) is { } name
            && !(name == "versionId" && query.Get(name) == "null"))
        {
            throw S3Exception.NotImplemented($"The '{name}' sub-resource");
        }

        return new S3Call(context, signed, query, bucket.Length == 0 ? null : bucket, rest.Length == 0 ? null : rest);
    }

    /// <summary>A header's value, or null when absent.</summary>
    public string? Header(string name) => Request.Headers.TryGetValue(name, out var value) && value.Count > 0
        ? value.ToString()
        : null;
}
