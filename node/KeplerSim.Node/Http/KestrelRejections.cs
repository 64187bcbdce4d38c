using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using BadHttpRequestException = Microsoft.AspNetCore.Http.BadHttpRequestException;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.Http;

/// <summary>An error body a listener answers in place of Kestrel's empty one: its media type and bytes.</summary>
internal sealed record RejectionBody(string ContentType, byte[] Bytes);

/// <summary>A listener's error body for a request Kestrel rejected with <c>status</c> and <c>message</c>.</summary>
internal delegate RejectionBody DescribeRejection(int status, string message);

/// <summary>
/// The requests Kestrel rejects itself, before any application code runs (a malformed request line, a NUL byte in
/// the target, header fields or a target over Kestrel's limits, a Transfer-Encoding that does not end in chunked,
/// a request-header timeout), answered in the listener's error shape instead of Kestrel's empty-bodied response.
/// Kestrel offers no hook for that response (aspnet/KestrelHttpServer#2947), so: Kestrel 10's
/// <c>HttpProtocol.SetBadRequestState</c> writes the DiagnosticSource event <see cref="BadRequestEvent"/> with the
/// request's features (the rejection in <see cref="IBadRequestExceptionFeature"/>, the status already set) before it
/// produces its response; a connection middleware between TLS and HTTP has put a <see cref="RejectionPipeWriter"/>
/// in the connection's features (the request's features fall back to them) and in front of its transport output,
/// and the event marks it, so the bytes Kestrel writes next are replaced. HTTP/2 connections are left alone: there
/// a rejected request is a stream reset on a shared connection, not a response.
/// </summary>
internal static class KestrelRejections
{
    /// <summary>Kestrel's DiagnosticSource event for a request it rejects (payload: the request's features).</summary>
    public const string BadRequestEvent = "Microsoft.AspNetCore.Server.Kestrel.BadRequest";

    /// <summary>The longest message put in a body (Kestrel cuts the input it echoes at 128 bytes).</summary>
    public const int MessageCharsMax = 512;

    /// <summary>Kestrel's general log category, whose Information level turns on the detail in its messages.</summary>
    private const string KestrelCategory = "Microsoft.AspNetCore.Server.Kestrel";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Answers the requests Kestrel rejects on <paramref name="listen"/> with <paramref name="describe"/>'s body. Call
    /// after <c>UseHttps</c>, so the middleware runs inside TLS and sees the negotiated protocol.
    /// </summary>
    public static void Use(ListenOptions listen, DescribeRejection describe)
    {
        // The subscription lives as long as the host's DiagnosticListener (disposed with the host's services).
        _ = listen.ApplicationServices.GetRequiredService<DiagnosticListener>()
            .Subscribe(new Observer(describe), name => name == BadRequestEvent);
        listen.Use(next => connection => WrapAsync(connection, next));
    }

    /// <summary>
    /// Makes Kestrel name the offending input in its messages (<c>Invalid request target: '/a%00b'</c>, cut at 128
    /// bytes, control bytes escaped): it does so only while its general log category is enabled at Information,
    /// which the node's console filter (Microsoft at Warning) is not. A provider that discards everything enables it
    /// for that one category; the console output is unchanged.
    /// </summary>
    public static void ShowDetails(ILoggingBuilder logging)
    {
        logging.AddProvider(new DetailsProvider());
        logging.AddFilter<DetailsProvider>(null, LogLevel.None);
        logging.AddFilter<DetailsProvider>(KestrelCategory, LogLevel.Information);
    }

    /// <summary>The gateway's body: the API's JSON error <c>{code, message}</c>, coded by the status.</summary>
    public static RejectionBody ApiJson(int status, string message)
    {
        var code = status switch
        {
            400 => "bad_request",
            405 => "method_not_allowed",
            408 => "request_timeout",
            413 => "too_large",
            414 => "uri_too_long",
            431 => "headers_too_large",
            505 => "http_version_not_supported",
            _ => "http_" + status,
        };
        return new("application/json", JsonSerializer.SerializeToUtf8Bytes(new ApiError(code, message), Json));
    }

    /// <summary>Kestrel's message without control characters (it escapes those it echoes), and bounded.</summary>
    public static string Clean(string message)
    {
        var text = new StringBuilder(Math.Min(message.Length, MessageCharsMax));
        foreach (var c in message.AsSpan(0, Math.Min(message.Length, MessageCharsMax)))
        {
            text.Append(char.IsControl(c) ? '?' : c);
        }

        return text.ToString();
    }

    private static async Task WrapAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        // Kestrel speaks HTTP/2 exactly when TLS negotiated "h2" (HttpConnection.SelectProtocol).
        var protocol = connection.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol ?? default;
        if (protocol.Span.SequenceEqual("h2"u8))
        {
            await next(connection);
            return;
        }

        var transport = connection.Transport;
        var output = new RejectionPipeWriter(transport.Output);
        connection.Features.Set(output);
        connection.Transport = new DuplexPipe(transport.Input, output);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
        }
    }

    /// <summary>A log provider that is enabled (where its filter allows) and writes nothing.</summary>
    [ProviderAlias("KestrelDetails")]
    private sealed class DetailsProvider : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    /// <summary>Marks the rejected request's connection, on Kestrel's request loop, before its response.</summary>
    private sealed class Observer(DescribeRejection describe) : IObserver<KeyValuePair<string, object?>>
    {
        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (value.Key != BadRequestEvent || value.Value is not IFeatureCollection features ||
                features.Get<RejectionPipeWriter>() is not { } output ||
                features.Get<IHttpResponseFeature>() is not { } response)
            {
                return;
            }

            // A response already under way (the request body turned out bad while or after it was sent) is not
            // Kestrel's to write: Kestrel only closes the connection, and nothing is replaced.
            if (response.HasStarted)
            {
                return;
            }

            var error = features.Get<IBadRequestExceptionFeature>()?.Error;
            var status = (error as BadHttpRequestException)?.StatusCode ?? response.StatusCode;
            var message = Clean(error?.Message ?? "the request was rejected");
            var head = HttpMethods.IsHead(features.Get<IHttpRequestFeature>()?.Method ?? "");
            output.Reject(status, describe(status, message), response.Headers.Allow, head);
        }

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }
    }
}
