using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace KeplerSim.Node.Logging;

/// <summary>Options of <see cref="JsonLineFormatter"/>.</summary>
public sealed class JsonLineFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>The node id written into every line.</summary>
    public string NodeId { get; set; } = "";
}

/// <summary>
/// One JSON object per line: <c>time</c>, <c>level</c>, <c>node</c>, <c>eventId</c>, <c>event</c>,
/// <c>category</c>, <c>message</c>, the message's named values, and <c>exception</c> when there is one. A formatter
/// plugged into the framework's console logger; the framework's own <c>JsonConsoleFormatter</c> cannot carry this
/// shape (it names its fields <c>Timestamp</c>, <c>LogLevel</c>, <c>State</c> and cannot add the node id).
/// </summary>
public sealed class JsonLineFormatter(IOptionsMonitor<JsonLineFormatterOptions> options)
    : ConsoleFormatter(FormatterName)
{
    /// <summary>The name to select this formatter with.</summary>
    public const string FormatterName = "kepler-json";

    // Log lines are read by people and log shippers, not embedded in HTML: keep '+', '<' and quotes readable.
    private static readonly JsonWriterOptions WriterOptions =
        new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <inheritdoc />
    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider,
        TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            var time = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            json.WriteString("time", time);
            json.WriteString("level", logEntry.LogLevel.ToString());
            json.WriteString("node", options.CurrentValue.NodeId);
            json.WriteNumber("eventId", logEntry.EventId.Id);
            if (logEntry.EventId.Name is { } name)
            {
                json.WriteString("event", name);
            }

            json.WriteString("category", logEntry.Category);
            json.WriteString("message", message);
            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    var field = char.ToLowerInvariant(key[0]) + key[1..];
                    if (key != "{OriginalFormat}" && field is not ("time" or "level" or "node" or "message"))
                    {
                        json.WriteString(field, Convert.ToString(value,
                            System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
            }

            if (logEntry.Exception is { } exception)
            {
                json.WriteString("exception", exception.ToString());
            }

            json.WriteEndObject();
        }

        textWriter.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        textWriter.Write('\n');
    }
}

/// <summary>Sets up the node's logging (both for the host and for ASP.NET Core).</summary>
public static class LoggingSetup
{
    /// <summary>Adds the console logger in <paramref name="format"/> at <paramref name="level"/>.</summary>
    public static ILoggingBuilder AddKeplerConsole(this ILoggingBuilder builder, Hosting.LogFormat format,
        LogLevel level, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ClearProviders();
        builder.SetMinimumLevel(level);
        builder.AddFilter("Microsoft", LogLevel.Warning);
        builder.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        if (level == LogLevel.None)
        {
            return builder;
        }

        if (format == Hosting.LogFormat.Json)
        {
            builder.AddConsole(o => o.FormatterName = JsonLineFormatter.FormatterName)
                .AddConsoleFormatter<JsonLineFormatter, JsonLineFormatterOptions>(o => o.NodeId = nodeId);
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.UseUtcTimestamp = false;
            });
        }

        return builder;
    }

    /// <summary>A logger factory that writes nothing.</summary>
    public static ILoggerFactory None => NullLoggerFactory.Instance;
}
