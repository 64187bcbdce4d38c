using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using KeplerSim.Node.Hosting;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.S3;

/// <summary>How a request's body is protected (x-amz-content-sha256).</summary>
internal enum PayloadMode
{
    /// <summary>UNSIGNED-PAYLOAD (presigned URLs, or clients over TLS).</summary>
    Unsigned,

    /// <summary>The hex SHA-256 of the whole body, verified at its end.</summary>
    Sha256,

    /// <summary>aws-chunked with a signature per chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]).</summary>
    StreamingSigned,

    /// <summary>aws-chunked without chunk signatures (STREAMING-UNSIGNED-PAYLOAD-TRAILER).</summary>
    StreamingUnsigned,
}

/// <summary>A request whose signature checked out, and what its body still has to prove.</summary>
internal sealed record SignedRequest(string AccessKeyId, PayloadMode Payload, string? PayloadSha256,
    byte[] SigningKey, string AmzDate, string Scope, string Signature, bool HasTrailer);

/// <summary>
/// AWS Signature Version 4 as S3 uses it: the Authorization header or a presigned query (X-Amz-*), with the
/// canonical request built from what arrived. Signatures are compared in constant time.
/// </summary>
internal static class SigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    public const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>How far a request's X-Amz-Date may be from the node's clock.</summary>
    public static readonly TimeSpan SkewMax = TimeSpan.FromMinutes(15);

    /// <summary>The longest validity of a presigned URL (7 days, as S3).</summary>
    public const long PresignedExpirySecondsMax = 7 * 24 * 3600;

    public static SignedRequest Verify(HttpRequest request, IReadOnlyList<S3Key> keys, DateTimeOffset now)
    {
        var query = S3Query.Parse(request);
        var header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            return VerifyHeader(request, query, header, keys, now);
        }

        if (query.Has("X-Amz-Signature"))
        {
            return VerifyPresigned(request, query, keys, now);
        }

        throw S3Exception.AccessDenied(query.Has("Signature")
            ? "Signature Version 2 is not supported: sign with Signature Version 4"
            : "Anonymous access is not allowed: sign the request (Signature Version 4)");
    }

    private static SignedRequest VerifyHeader(HttpRequest request, S3Query query, string header,
        IReadOnlyList<S3Key> keys, DateTimeOffset now)
    {
        if (!header.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            throw S3Exception.InvalidArgument("Unsupported Authorization type: expected " + Algorithm);
        }

        var fields = header[(Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries)
            .Select(f => f.Split('=', 2)).Where(f => f.Length == 2)
            .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        var credential = fields.GetValueOrDefault("Credential") ?? throw Malformed("Credential");
        var signed = fields.GetValueOrDefault("SignedHeaders") ?? throw Malformed("SignedHeaders");
        var signature = fields.GetValueOrDefault("Signature") ?? throw Malformed("Signature");
        var amzDate = request.Headers["x-amz-date"].ToString();
        if (amzDate.Length == 0)
        {
            amzDate = request.Headers.Date.ToString();
        }

        var time = ParseAmzDate(amzDate);
        if ((time - now).Duration() > SkewMax)
        {
            throw new S3Exception(403, "RequestTimeTooSkewed",
                "The difference between the request time and the server's time is too large (15 minutes at most)");
        }

        var (key, scope, signingKey) = Credential(credential, amzDate, keys);
        var contentSha = request.Headers["x-amz-content-sha256"].ToString();
        var mode = contentSha switch
        {
            "" => throw S3Exception.InvalidArgument("x-amz-content-sha256 is required"),
            "UNSIGNED-PAYLOAD" => PayloadMode.Unsigned,
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" or "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" =>
                PayloadMode.StreamingSigned,
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => PayloadMode.StreamingUnsigned,
            _ when contentSha.Length == 64 && contentSha.All(char.IsAsciiHexDigit) => PayloadMode.Sha256,
            _ => throw new S3Exception(400, "InvalidArgument", $"x-amz-content-sha256 '{contentSha}' is not supported"),
        };
        var canonical = CanonicalRequest(request, query, signed, contentSha, excludeSignature: false);
        Check(signingKey, amzDate, scope, canonical, signature);
        return new SignedRequest(key.AccessKeyId, mode,
            mode == PayloadMode.Sha256 ? contentSha.ToLowerInvariant() : null, signingKey, amzDate, scope,
            signature.ToLowerInvariant(), contentSha.EndsWith("TRAILER", StringComparison.Ordinal));
    }

    private static SignedRequest VerifyPresigned(HttpRequest request, S3Query query, IReadOnlyList<S3Key> keys,
        DateTimeOffset now)
    {
        if (query.Get("X-Amz-Algorithm") != Algorithm)
        {
            throw S3Exception.InvalidArgument("X-Amz-Algorithm must be " + Algorithm);
        }

        var amzDate = query.Get("X-Amz-Date") ?? throw Malformed("X-Amz-Date");
        var time = ParseAmzDate(amzDate);
        if (!long.TryParse(query.Get("X-Amz-Expires"), NumberStyles.None, CultureInfo.InvariantCulture,
                out var expires) || expires < 1 || expires > PresignedExpirySecondsMax)
        {
            throw new S3Exception(400, "AuthorizationQueryParametersError",
                $"X-Amz-Expires must be 1..{PresignedExpirySecondsMax} seconds");
        }

        if (now > time.AddSeconds(expires))
        {
            throw S3Exception.AccessDenied("Request has expired");
        }

        if (time - now > SkewMax)
        {
            throw S3Exception.AccessDenied("Request is not valid yet (X-Amz-Date is in the future)");
        }

        var (key, scope, signingKey) = Credential(query.Get("X-Amz-Credential") ?? throw Malformed("X-Amz-Credential"),
            amzDate, keys);
        var signed = query.Get("X-Amz-SignedHeaders") ?? throw Malformed("X-Amz-SignedHeaders");
        var signature = query.Get("X-Amz-Signature")!;
        var canonical = CanonicalRequest(request, query, signed, "UNSIGNED-PAYLOAD", excludeSignature: true);
        Check(signingKey, amzDate, scope, canonical, signature);
        return new SignedRequest(key.AccessKeyId, PayloadMode.Unsigned, null, signingKey, amzDate, scope,
            signature.ToLowerInvariant(), HasTrailer: false);
    }

    private static (S3Key Key, string Scope, byte[] SigningKey) Credential(string credential, string amzDate,
        IReadOnlyList<S3Key> keys)
    {
        // access/yyyymmdd/region/s3/aws4_request
        var parts = credential.Split('/');
        if (parts.Length != 5 || parts[3] != "s3" || parts[4] != "aws4_request" || parts[1].Length != 8)
        {
            throw new S3Exception(400, "AuthorizationHeaderMalformed",
                $"The credential '{credential}' is malformed: expected access/yyyymmdd/region/s3/aws4_request");
        }

        if (!amzDate.StartsWith(parts[1], StringComparison.Ordinal))
        {
            throw new S3Exception(400, "AuthorizationHeaderMalformed",
                "The credential's date does not match X-Amz-Date");
        }

        var key = keys.FirstOrDefault(k => k.AccessKeyId == parts[0])
            ?? throw new S3Exception(403, "InvalidAccessKeyId",
                "The AWS access key Id you provided does not exist in our records.");
        var signingKey = Hmac(Encoding.UTF8.GetBytes("AWS4" + key.Secret), parts[1]);
        signingKey = Hmac(Hmac(Hmac(signingKey, parts[2]), "s3"), "aws4_request");
        return (key, string.Join('/', parts[1..]), signingKey);
    }

    private static string CanonicalRequest(HttpRequest request, S3Query query, string signedHeaders,
        string payloadHash, bool excludeSignature)
    {
        var builder = new StringBuilder();
        builder.Append(request.Method).Append('\n');
        builder.Append(S3Query.EncodePath(S3Query.RawPath(request))).Append('\n');
        builder.Append(query.Canonical(excludeSignature)).Append('\n');
        var names = signedHeaders.Split(';');
        if (!names.Contains("host"))
        {
            throw S3Exception.AccessDenied("The host header must be signed");
        }

        foreach (var name in names)
        {
            var value = name == "host" ? request.Host.Value ?? "" : request.Headers[name].ToString();
            builder.Append(name).Append(':').Append(CollapseSpaces(value)).Append('\n');
        }

        builder.Append('\n').Append(signedHeaders).Append('\n').Append(payloadHash);
        return builder.ToString();
    }

    private static void Check(byte[] signingKey, string amzDate, string scope, string canonical, string signature)
    {
        var toSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Sha256Hex(Encoding.UTF8.GetBytes(canonical))}";
        if (!SameHex(Convert.ToHexStringLower(Hmac(signingKey, toSign)), signature))
        {
            throw S3Exception.SignatureDoesNotMatch();
        }
    }

    /// <summary>Compares two hex signatures in constant time (case-insensitive input).</summary>
    public static bool SameHex(string expected, string actual) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected),
            Encoding.ASCII.GetBytes(actual.ToLowerInvariant()));

    public static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    public static string Sha256Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static DateTimeOffset ParseAmzDate(string text)
    {
        if (DateTimeOffset.TryParseExact(text, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal, out var time)
            || DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal,
                out time))
        {
            return time;
        }

        throw new S3Exception(403, "AccessDenied", $"X-Amz-Date '{text}' is not a date such as 20240101T000000Z");
    }

    private static string CollapseSpaces(string value)
    {
        var trimmed = value.Trim();
        if (!trimmed.Contains("  ", StringComparison.Ordinal))
        {
            return trimmed;
        }

        var builder = new StringBuilder(trimmed.Length);
        foreach (var c in trimmed)
        {
            if (c != ' ' || builder.Length == 0 || builder[^1] != ' ')
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static S3Exception Malformed(string field) =>
        new(400, "AuthorizationHeaderMalformed", $"The authorization is missing {field}");
}
