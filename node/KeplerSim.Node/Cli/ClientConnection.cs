using System.CommandLine;
using System.Net.Http.Headers;

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
    };

    public static readonly Option<FileInfo?> CaCertOption = new("--ca-cert")
    {
        Description = "PEM file of the CA (or self-signed certificate) to trust for https [default: env " +
            "KEPLER_CA_CERT]",
    };

    public static readonly Option<bool> InsecureOption = new("--insecure")
    {
        Description = "Accept any https certificate (self-signed test setups only)",
    };

    /// <summary>The client for <paramref name="baseUri"/>; a bad CA file throws <see cref="ArgumentException"/>.
    /// </summary>
    public static HttpClient Create(ParseResult parse, Uri baseUri)
    {
        var token = parse.GetValue(TokenOption) ?? Environment.GetEnvironmentVariable("KEPLER_TOKEN");
        var caPath = parse.GetValue(CaCertOption)?.FullName ?? Environment.GetEnvironmentVariable("KEPLER_CA_CERT");
        var handler = new SocketsHttpHandler();
        try
        {
            ClientTls.Configure(handler, caPath, parse.GetValue(InsecureOption));
        }
        catch (IOException e)
        {
            handler.Dispose();
            throw new ArgumentException(e.Message, e);
        }

        var client = new HttpClient(handler) { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrWhiteSpace(token))
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        }

        return client;
    }
}
