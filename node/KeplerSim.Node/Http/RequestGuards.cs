using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using KeplerSim.Node.Logging;
using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.Http;

/// <summary>
/// What the gateway answers before (or instead of) an endpoint, in the API's JSON error shape: unknown routes (404),
/// wrong methods (405), oversized headers (431) and request lines (414), paths that are not valid percent-encoded
/// UTF-8 or that hide a '/' inside a segment (400), and unhandled exceptions (500). Without these the framework
/// answers with an empty body.
/// </summary>
internal static class RequestGuards
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false,
        throwOnInvalidBytes: true);

    /// <summary>The largest total size of a request's header fields the gateway accepts (Kestrel's default).</summary>
    public const int HeadersTotalSizeMax = 32 * 1024;

    /// <summary>The longest request target (path and query) the gateway accepts (Kestrel's line limit).</summary>
    public const int RequestLineSizeMax = 8 * 1024;

    /// <summary>Adds the guards to the pipeline, outermost first.</summary>
    public static void Use(WebApplication app, ILogger log)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = context => WriteAsync(context, 500, "internal",
                "the request failed unexpectedly: " +
                (context.Features.Get<IExceptionHandlerFeature>()?.Error.GetType().Name ?? "unknown error")),
        });
        app.UseStatusCodePages(context => Describe(context.HttpContext));
        app.Use((context, next) => Check(context) is { } error
            ? Reject(context, log, error)
            : next(context));
    }

    /// <summary>Why the request is refused before routing, or null.</summary>
    internal static (int Status, ApiError Error)? Check(HttpContext context)
    {
        var request = context.Request;
        var headerBytes = 0L;
        foreach (var (name, values) in request.Headers)
        {
            headerBytes += name.Length + 4;
            foreach (var value in values)
            {
                headerBytes += value?.Length ?? 0;
            }
        }

        if (headerBytes > HeadersTotalSizeMax)
        {
            return (431, new("headers_too_large",
                $"the request's header fields take {headerBytes} bytes; the limit is {HeadersTotalSizeMax}"));
        }

        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "";
        var target = raw.Length;
        if (target > RequestLineSizeMax)
        {
            return (414, new("uri_too_long",
                $"the request target has {target} characters; the limit is {RequestLineSizeMax}"));
        }

        return CheckPath(raw);
    }

    /// <summary>
    /// A path segment must not contain an encoded '/' (<c>%2F</c>: <c>a%2Fb</c> and <c>a/b</c> would otherwise be
    /// two different files), and the percent-decoded path must be valid UTF-8 (Kestrel leaves an invalid sequence
    /// such as <c>%FF</c> undecoded, which would name a file the client never meant). Checked on the raw request
    /// target, since the decoded path cannot tell <c>%FF</c> from <c>%25FF</c>.
    /// </summary>
    internal static (int Status, ApiError Error)? CheckPath(string rawTarget)
    {
        var query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? rawTarget : rawTarget[..query];
        if (path.Contains("%2F", StringComparison.OrdinalIgnoreCase))
        {
            return (400, new("invalid_path", "a path segment must not contain an encoded '/' (%2F)"));
        }

        // UrlDecodeToBytes turns '+' into a space (form encoding); in a path '+' is itself.
        var ascii = Encoding.ASCII.GetBytes(path.Replace("+", "%2B", StringComparison.Ordinal));
        var decoded = WebUtility.UrlDecodeToBytes(ascii, 0, ascii.Length);
        try
        {
            _ = StrictUtf8.GetCharCount(decoded);
        }
        catch (DecoderFallbackException)
        {
            return (400, new("invalid_encoding", "the path is not valid percent-encoded UTF-8"));
        }

        return null;
    }

    private static Task Reject(HttpContext context, ILogger log, (int Status, ApiError Error) refusal)
    {
        log.ClientError(context.Request.Method, context.Request.Path.Value ?? "", refusal.Status,
            refusal.Error.Code, refusal.Error.Message);
        return WriteAsync(context, refusal.Status, refusal.Error.Code, refusal.Error.Message);
    }

    /// <summary>The JSON body for a status the framework set without a body (404 no route, 405 method, ...).</summary>
    private static Task Describe(HttpContext context)
    {
        var status = context.Response.StatusCode;
        var request = context.Request;
        var target = $"{request.Method} {request.Path}";
        var (code, message) = status switch
        {
            404 => ("not_found", $"no such endpoint: {target}"),
            405 => ("method_not_allowed",
                $"{request.Method} is not allowed on {request.Path}; allowed: {context.Response.Headers.Allow}"),
            _ => ("http_" + status, $"{ReasonPhrases.GetReasonPhrase(status)}: {target}"),
        };
        return WriteAsync(context, status, code, message);
    }

    private static Task WriteAsync(HttpContext context, int status, string code, string message) =>
        ApiErrors.ToResult(status, new ApiError(code, message)).ExecuteAsync(context);
}
