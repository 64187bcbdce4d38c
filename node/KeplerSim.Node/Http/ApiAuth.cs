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
            return Task.FromResult(AuthenticateResult.NoResult());
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

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
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
            .AddScheme<BearerTokenOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, o => o.Tokens =
                [.. tokens.Select(t => (t, SHA256.HashData(Encoding.UTF8.GetBytes(t.Secret))))]);
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
