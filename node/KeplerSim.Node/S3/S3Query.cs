using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace KeplerSim.Node.S3;

/// <summary>
/// A request's query exactly as sent (decoded once, order kept), which S3 needs for its sub-resources (?uploads,
/// ?delete) and for the canonical query string of a signature; plus the URI encoding SigV4 defines.
/// </summary>
internal sealed class S3Query
{
    /// <summary>The largest page of any listing (S3's).</summary>
    public const int PageSizeMax = 1000;

    private readonly List<KeyValuePair<string, string>> _pairs;

    private S3Query(List<KeyValuePair<string, string>> pairs) => _pairs = pairs;

    public static S3Query Parse(HttpRequest request)
    {
        var raw = request.QueryString.Value ?? "";
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var part in raw.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? part : part[..equals];
            var value = equals < 0 ? "" : part[(equals + 1)..];
            pairs.Add(new(Uri.UnescapeDataString(name), Uri.UnescapeDataString(value)));
        }

        return new S3Query(pairs);
    }

    public bool Has(string name) => _pairs.Any(p => p.Key == name);

    public string? Get(string name) => _pairs.FirstOrDefault(p => p.Key == name).Value;

    /// <summary>
    /// A listing's page size (<c>max-keys</c>, <c>max-parts</c>, <c>max-uploads</c>): 1000 when absent, and a
    /// larger value is served at 1000, as S3 does; anything but an integer from 0 is InvalidArgument.
    /// </summary>
    public int PageSize(string name) => Math.Min(Count(name) ?? PageSizeMax, PageSizeMax);

    /// <summary>An integer parameter from 0 (a count or a marker), or null when absent or empty.</summary>
    public int? Count(string name) => Get(name) is not { Length: > 0 } text
        ? null
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw S3Exception.InvalidArgument($"Argument {name} must be an integer between 0 and {int.MaxValue}");

    /// <summary>Names of the pairs (to refuse sub-resources that are not implemented).</summary>
    public IEnumerable<string> Names => _pairs.Select(p => p.Key);

    /// <summary>The canonical query string: pairs sorted by encoded name then value, each side encoded.</summary>
    public string Canonical(bool excludeSignature) => string.Join('&', _pairs
        .Where(p => !excludeSignature || p.Key != "X-Amz-Signature")
        .Select(p => (Name: Encode(p.Key, keepSlash: false), Value: Encode(p.Value, keepSlash: false)))
        .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
        .Select(p => p.Name + "=" + p.Value));

    /// <summary>The request's path as the client sent it, percent-decoded once (a key may contain %2F or +).</summary>
    public static string RawPath(HttpRequest request)
    {
        var target = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "/";
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? target : target[..query];
        if (path.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || path.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            path = new Uri(path).AbsolutePath; // absolute-form target (proxies)
        }

        return Uri.UnescapeDataString(path);
    }

    /// <summary>The canonical URI of a decoded path: all but unreserved characters and '/' percent-encoded.</summary>
    public static string EncodePath(string path) => Encode(path, keepSlash: true);

    /// <summary>SigV4's UriEncode: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, the rest is %XX.</summary>
    public static string Encode(string text, bool keepSlash)
    {
        var builder = new StringBuilder(text.Length + 16);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' || (keepSlash && c == '/'))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }
}
