using System.Buffers.Text;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Logging;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KeplerSim.Node.Http;

/// <summary>The API tokens the bearer handler accepts, each kept as the SHA-256 of its secret.</summary>
internal sealed class BearerTokenOptions : AuthenticationSchemeOptions
{
    /// <summary>(token, SHA-256 of its secret): compared in constant time over equal-length hashes.</summary>
    public IReadOnlyList<(ApiToken Token, byte[] SecretHash)> Tokens { get; set; } = [];

    /// <summary>Checks signed download URLs (a request with no Authorization header and a <c>sig</c>).</summary>
    public DownloadUrls? DownloadUrls { get; set; }
}

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;secret&gt;</c> against API_TOKENS. Every token is compared (no early
/// exit) with <see cref="CryptographicOperations.FixedTimeEquals"/> over SHA-256 hashes, so neither the secret's
/// bytes nor its length leak through timing. A missing header is no result (the endpoint's policy then challenges
/// with 401); a malformed header or an unknown secret fails. Challenges and forbids answer in the API's JSON error
/// shape.
/// </summary>
internal sealed class BearerTokenHandler(IOptionsMonitor<BearerTokenOptions> options, ILoggerFactory loggers,
    UrlEncoder encoder) : AuthenticationHandler<BearerTokenOptions>(options, loggers, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "Bearer";

    /// <summary>The claim holding the token's role.</summary>
    public const string RoleClaim = "kepler_role";

    // The gateway's category: the framework's own lines under the handler's category ("was challenged", once per
    // 401) are filtered out as noise (Gateway.StartAsync), ours say what was rejected and why.
    private readonly ILogger _log = loggers.CreateLogger("KeplerSim.Node.Http");

    private const string Prefix = "Bearer ";
    private const string Realm = "Bearer realm=\"keplerfs\"";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(Request.Query.ContainsKey(DownloadUrls.SignatureParameter)
                ? AuthenticateSignedUrl()
                : AuthenticateResult.NoResult());
        }

        if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("the Authorization header must be 'Bearer <token>'"));
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[Prefix.Length..].Trim()));
        ApiToken? found = null;
        foreach (var (token, hash) in Options.Tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, hash))
            {
                found ??= token;
            }
        }

        if (found is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("the API token is not valid"));
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, found.Name), new Claim(RoleClaim, found.Role.ToString())], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(
            new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <summary>
    /// A signed download URL: good for GET or HEAD of the one file (path and version) it was signed for, until it
    /// expires; it grants the read role under the signing token's name, nothing else.
    /// </summary>
    private AuthenticateResult AuthenticateSignedUrl()
    {
        var path = Request.Path.Value ?? "";
        if (!HttpMethods.IsGet(Request.Method) && !HttpMethods.IsHead(Request.Method))
        {
            return AuthenticateResult.Fail(new SignedUrlException(
                "a signed download URL is good only for GET or HEAD; writes need an API token"));
        }

        if (!path.StartsWith(DownloadUrls.FilesPrefix, StringComparison.Ordinal) || path.EndsWith('/'))
        {
            return AuthenticateResult.Fail(new SignedUrlException("a signed download URL names one file"));
        }

        var urls = Options.DownloadUrls ?? throw new InvalidOperationException("no download URL signer");
        var check = urls.Verify(path[DownloadUrls.FilesPrefix.Length..], Request.Query,
            TimeProvider.GetUtcNow().ToUnixTimeSeconds());
        if (check.Token is not { } token)
        {
            return AuthenticateResult.Fail(new SignedUrlException(check.Error!, check.Code!));
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, token.Name + " (signed URL)"), new Claim(RoleClaim, nameof(ApiRole.Read))],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        if (result.Failure is SignedUrlException signed)
        {
            // Not 401: no token would help a URL that is tampered with, expired or used for the wrong request.
            await WriteAsync(403, new ApiError(signed.Code, signed.Message));
            return;
        }

        Response.Headers.WWWAuthenticate = result.Failure is null ? Realm : Realm + ", error=\"invalid_token\"";
        await WriteAsync(401, new ApiError("unauthorized", result.Failure?.Message
            ?? "this needs an API token: send 'Authorization: Bearer <token>' (kepler-node --token, KEPLER_TOKEN)"));
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var needed = Context.GetEndpoint()?.Metadata.GetMetadata<IAuthorizeData>()?.Policy ?? "a higher role";
        return WriteAsync(403, new ApiError("forbidden", $"token '{Context.User.Identity?.Name}' has role " +
            $"{RoleOf(Context.User)?.ToString().ToLowerInvariant()}; this needs {needed}"));
    }

    /// <summary>The role of an authenticated caller, or null.</summary>
    public static ApiRole? RoleOf(ClaimsPrincipal user) =>
        Enum.TryParse<ApiRole>(user.FindFirst(RoleClaim)?.Value, out var role) ? role : null;

    private Task WriteAsync(int status, ApiError error)
    {
        _log.AuthRejected(Request.Method, Request.Path.Value ?? "", status, error.Code, error.Message);
        return ApiErrors.ToResult(status, error).ExecuteAsync(Context);
    }
}

/// <summary>Wires API tokens into ASP.NET Core: the bearer scheme and one policy per role.</summary>
internal static class ApiAuth
{
    /// <summary>The policy that admits <paramref name="role"/> and every role above it.</summary>
    public static string PolicyOf(ApiRole role) => role.ToString().ToLowerInvariant();

    /// <summary>Registers the scheme and the policies (admin ⊇ write ⊇ read).</summary>
    public static void Add(IServiceCollection services, IReadOnlyList<ApiToken> tokens)
    {
        services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<BearerTokenOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, o =>
            {
                o.Tokens = [.. tokens.Select(t => (t, SHA256.HashData(Encoding.UTF8.GetBytes(t.Secret))))];
                o.DownloadUrls = new DownloadUrls(tokens);
            });
        var authorization = services.AddAuthorizationBuilder();
        foreach (var role in Enum.GetValues<ApiRole>())
        {
            authorization.AddPolicy(PolicyOf(role), policy => policy
                .AddAuthenticationSchemes(BearerTokenHandler.SchemeName)
                .RequireAuthenticatedUser()
                .RequireAssertion(c => BearerTokenHandler.RoleOf(c.User) >= role));
        }
    }

    /// <summary>Requires <paramref name="role"/> for an endpoint when tokens are set; else nothing.</summary>
    public static TBuilder Allow<TBuilder>(this TBuilder builder, NodeConfig config, ApiRole role)
        where TBuilder : IEndpointConventionBuilder =>
        config.ApiTokens.Count == 0 ? builder : builder.RequireAuthorization(PolicyOf(role));
}

/// <summary>A signed download URL that is refused (403): tampered with, expired, or used for another request.</summary>
internal sealed class SignedUrlException(string message, string code = DownloadUrls.InvalidCode)
    : Exception(message)
{
    public string Code => code;
}

/// <summary>The outcome of checking a signed download URL: the signing token, or an error code and message.</summary>
internal readonly record struct SignedUrlCheck(ApiToken? Token, string? Code, string? Error);

/// <summary>
/// Short-lived signed download URLs, so a browser can stream a file to disk through a plain link although the API
/// needs a token (a link cannot carry an Authorization header). A URL is
/// <c>/api/files/&lt;path&gt;?version=V&amp;expires=E&amp;by=NAME&amp;sig=S</c>: S is the unpadded base64url
/// HMAC-SHA256 of <c>GET\n&lt;path&gt;\n&lt;V&gt;\n&lt;E&gt;</c> (path as decoded, E in Unix seconds) keyed with
/// HKDF-SHA256(secret of token NAME, info <see cref="KeyInfo"/>). The key derives from the signing token's secret, so
/// any node holding the same API_TOKENS serves the URL, and removing the token voids its URLs.
/// </summary>
internal sealed class DownloadUrls
{
    /// <summary>Lifetime of a URL unless the request asks for another.</summary>
    public const int LifetimeSecondsDefault = 300;

    /// <summary>Longest lifetime a request may ask for.</summary>
    public const int LifetimeSecondsMax = 900;

    /// <summary>The query parameter holding the signature.</summary>
    public const string SignatureParameter = "sig";

    /// <summary>The URL path every signed URL starts with.</summary>
    public const string FilesPrefix = "/api/files/";

    /// <summary>The error code of a URL whose signature does not verify or that is used for another request.</summary>
    public const string InvalidCode = "download_url_invalid";

    /// <summary>The error code of a genuine URL past its expiry.</summary>
    public const string ExpiredCode = "download_url_expired";

    private const string KeyInfo = "keplerfs download url v1";
    private const int KeyBytes = 32;

    private readonly Dictionary<string, (ApiToken Token, byte[] Key)> _keys = new(StringComparer.Ordinal);

    /// <summary>Derives each token's signing key.</summary>
    public DownloadUrls(IEnumerable<ApiToken> tokens)
    {
        foreach (var token in tokens)
        {
            _keys[token.Name] = (token, HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(token.Secret),
                KeyBytes, salt: [], info: Encoding.UTF8.GetBytes(KeyInfo)));
        }
    }

    /// <summary>The signed URL (path and query, relative to the node) for one version of a file.</summary>
    public string Sign(ApiToken token, string path, string version, long expiresUnixSeconds)
    {
        var (_, key) = _keys[token.Name];
        var signature = Base64Url.EncodeToString(Mac(key, path, version, expiresUnixSeconds));
        return FilesPrefix + string.Join('/', path.Split('/').Select(Uri.EscapeDataString)) +
            $"?version={Uri.EscapeDataString(version)}&expires={expiresUnixSeconds}" +
            $"&by={Uri.EscapeDataString(token.Name)}&{SignatureParameter}={signature}";
    }

    /// <summary>
    /// Checks a URL against the file path it requests: the signature first (constant-time), then the expiry, so
    /// only a genuine URL is ever called expired.
    /// </summary>
    public SignedUrlCheck Verify(string path, IQueryCollection query, long nowUnixSeconds)
    {
        string? version = query["version"];
        string? by = query["by"];
        string? signature = query[SignatureParameter];
        if (query["expires"].Count != 1 || !long.TryParse(query["expires"], NumberStyles.None,
                CultureInfo.InvariantCulture, out var expires)
            || string.IsNullOrEmpty(version) || by is null || signature is null
            || !_keys.TryGetValue(by, out var signer))
        {
            return new(null, InvalidCode, "the download URL lacks its version, expires, by or sig, or names a " +
                "token this node does not have");
        }

        var presented = new byte[Base64Url.GetMaxDecodedLength(signature.Length)];
        var valid = Base64Url.TryDecodeFromChars(signature, presented, out var written)
            & CryptographicOperations.FixedTimeEquals(presented.AsSpan(0, written),
                Mac(signer.Key, path, version, expires));
        if (!valid)
        {
            return new(null, InvalidCode, "the download URL's signature does not match this file, version and expiry");
        }

        return nowUnixSeconds > expires
            ? new(null, ExpiredCode, $"the download URL expired {nowUnixSeconds - expires} s ago; ask for a new one")
            : new(signer.Token, null, null);
    }

    private static byte[] Mac(byte[] key, string path, string version, long expiresUnixSeconds) =>
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"GET\n{path}\n{version}\n{expiresUnixSeconds}")));
}
