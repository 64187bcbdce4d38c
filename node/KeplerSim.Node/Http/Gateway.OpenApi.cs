using KeplerSim.Node.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    /// <summary>Where the OpenAPI document is served.</summary>
    public const string OpenApiPath = "/openapi/v1.json";

    /// <summary>Where the API reference page (Scalar) is served.</summary>
    public const string DocsPath = "/docs";

    /// <summary>Every endpoint that calls core answers 503 while the node recovers or drains.</summary>
    private static readonly (int, string)[] Busy =
        [(503, "not_ready: the node is still recovering, or draining (use another node)")];

    /// <summary>
    /// What any request can be refused with before it reaches its endpoint (RequestGuards) or when it fails
    /// unexpectedly: added to every operation of the document.
    /// </summary>
    private static readonly (int Status, string Text)[] GuardErrors =
    [
        (400, "invalid_path, invalid_encoding: the path hides a '/' in a segment or is not valid percent-encoded " +
            "UTF-8; bad_request: the server cannot parse the request (malformed request line, NUL byte in the " +
            "target, body framing)"),
        (414, "uri_too_long: the request target is longer than 8 KiB"),
        (431, "headers_too_large: the header fields total more than 32 KiB"),
        (500, "internal: the request failed unexpectedly (logged with its cause)"),
    ];

    /// <summary>How a signed download URL (POST /api/download-url) is refused.</summary>
    private const string SignedUrlErrors = "download_url_invalid: a signed URL tampered with, for another path or " +
        "version, or used for anything but GET or HEAD; download_url_expired: a signed URL past its expiry";

    /// <summary>Registers the OpenAPI document: every error in the API's JSON shape, auth when tokens are on.</summary>
    private static void AddOpenApi(IServiceCollection services, NodeConfig config)
    {
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "KeplerFS node HTTP API";
                document.Info.Description = "Every node of a KeplerFS cluster answers the same API (docs/NODE.md). " +
                    "Errors are JSON objects {code, message}; each operation lists its codes by status. With " +
                    "API_TOKENS set, calls send 'Authorization: Bearer <token>'; /health and /ready stay open.";
                AddMetricsPath(document, config);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancel) =>
            {
                // Registered once as a component (the endpoints' own error metadata does that too), then referenced.
                await context.GetOrCreateSchemaAsync(typeof(ApiError), null, cancel);
                var error = new OpenApiSchemaReference(nameof(ApiError), context.Document);
                operation.Responses ??= [];
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                var errors = GuardErrors.AsEnumerable();
                if (config.ApiTokens.Count > 0 && metadata.OfType<IAuthorizeData>().Any())
                {
                    errors = errors.Append((401, "unauthorized: no token, a malformed header or an unknown token"))
                        .Append((403, "forbidden: the token's role is below the one this needs"));
                    if (operation.OperationId is "GetFileOrList" or "HeadFile")
                    {
                        errors = errors.Append((403, SignedUrlErrors));
                    }
                }

                foreach (var (status, text) in errors)
                {
                    AddError(operation, status, text, error);
                }
            });
        });
    }

    /// <summary>
    /// <c>/metrics</c> is mapped by prometheus-net as a plain request pipeline, which the endpoint explorer skips;
    /// it is described here instead.
    /// </summary>
    private static void AddMetricsPath(OpenApiDocument document, NodeConfig config)
    {
        var operation = new OpenApiOperation
        {
            OperationId = "Metrics",
            Summary = "Prometheus text exposition of the node's counters and gauges",
            Tags = new HashSet<OpenApiTagReference> { new("Probes", document) },
            Responses = new OpenApiResponses
            {
                ["200"] = new OpenApiResponse
                {
                    Description = "OK",
                    Content = new Dictionary<string, OpenApiMediaType> { ["text/plain"] = new() },
                },
            },
        };
        var errors = config.ApiTokens.Count > 0 && config.MetricsAuth == MetricsAuth.Read
            ? GuardErrors.Append((401, "unauthorized: METRICS_AUTH=read and no valid token"))
            : GuardErrors;
        foreach (var (status, text) in errors)
        {
            AddError(operation, status, text, new OpenApiSchemaReference(nameof(ApiError), document));
        }

        document.Paths ??= [];
        document.Paths["/metrics"] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = operation },
        };
    }

    private static void AddError(OpenApiOperation operation, int status, string text, IOpenApiSchema error)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.TryGetValue(key, out var existing) && existing is OpenApiResponse response)
        {
            response.Description = existing.Description + "; " + text;
            return;
        }

        operation.Responses[key] = new OpenApiResponse
        {
            Description = text,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = error } },
        };
    }

    /// <summary>Serves the document and the reference page: both open, both offline (Scalar's script is embedded).
    /// </summary>
    private static void MapOpenApi(WebApplication app)
    {
        app.MapOpenApi(OpenApiPath).ExcludeFromDescription();
        app.MapScalarApiReference(DocsPath, options => options
                .WithTitle("KeplerFS node API")
                .WithOpenApiRoutePattern(OpenApiPath)
                .DisableDefaultFonts()
                .DisableTelemetry()
                .DisableAgent()
                .DisableMcp())
            .ExcludeFromDescription();
    }
}

/// <summary>Endpoint metadata for the OpenAPI document: names, summaries, responses and documented errors.</summary>
internal static class ApiDocs
{
    /// <summary>Names an endpoint (its operation id) and says what it does.</summary>
    public static TBuilder Doc<TBuilder>(this TBuilder builder, string name, string summary,
        string? description = null)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithName(name).WithSummary(summary).WithTags(TagOf(name));
        return description is null ? builder : builder.WithDescription(description);
    }

    /// <summary>Documents the success response: its status, body type (null: untyped) and content type.</summary>
    public static TBuilder Returns<TBuilder>(this TBuilder builder, int status, Type? type,
        string contentType = "application/json")
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProducesResponseTypeAttribute(type ?? typeof(void), status, contentType));

    /// <summary>Documents error responses (JSON <see cref="ApiError"/>), several codes of one status merged.</summary>
    public static TBuilder Errors<TBuilder>(this TBuilder builder, params (int Status, string Text)[] errors)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var group in errors.GroupBy(e => e.Status))
        {
            builder.WithMetadata(new ProducesResponseTypeAttribute(typeof(ApiError), group.Key, "application/json")
            {
                Description = string.Join("; ", group.Select(e => e.Text)),
            });
        }

        return builder;
    }

    /// <summary>Documents a query parameter the handler reads itself (so the explorer cannot see it).</summary>
    public static TBuilder Query<TBuilder>(this TBuilder builder, string name, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name,
                In = ParameterLocation.Query,
                Description = description,
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
            return Task.CompletedTask;
        });

    /// <summary>Groups operations by what they touch (the name's leading word).</summary>
    private static string TagOf(string name) => name switch
    {
        _ when name.Contains("File", StringComparison.Ordinal) || name.StartsWith("Versions", StringComparison.Ordinal)
            || name.StartsWith("Content", StringComparison.Ordinal) => "Files",
        _ when name.StartsWith("Health", StringComparison.Ordinal) || name.StartsWith("Ready", StringComparison.Ordinal)
            || name.StartsWith("Metrics", StringComparison.Ordinal) => "Probes",
        _ when name.StartsWith("Ui", StringComparison.Ordinal) => "UI",
        _ => "Cluster",
    };
}
