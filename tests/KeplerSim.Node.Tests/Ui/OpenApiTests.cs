using System.Reflection;
using System.Text.Json;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Http;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests.Ui;

/// <summary>
/// /openapi/v1.json describes every route the gateway maps, each with a name, a summary and its error responses
/// in the API's JSON error shape; /docs serves the reference page and its script from the node itself.
/// </summary>
[Trait("Category", "Real")]
public sealed class OpenApiTests
{
    // Routes that are not the API: the UI redirect, the document itself and the reference page's assets.
    private static readonly string[] NotApi = ["/", Gateway.OpenApiPath, Gateway.DocsPath];

    [Fact]
    public async Task The_document_lists_every_route_with_a_name_a_summary_and_its_errors()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("oa", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("HTTP_PORT", "0"),
            ("GOSSIP_PORT", "0"), ("TRANSFER_PORT", "0")));
        using var client = Nodes.Client(host.HttpAddress);
        using var document = JsonDocument.Parse(await client.GetStringAsync("openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);

        var routes = GatewayOf(host).Routes()
            .Where(r => !NotApi.Any(n => r.Pattern == n || r.Pattern.StartsWith(n + "/", StringComparison.Ordinal)))
            .ToList();
        Assert.True(routes.Count >= 17, $"only {routes.Count} routes found: the gateway's endpoints were not read");
        foreach (var (method, pattern) in routes)
        {
            // {**path} (a catch-all) is {path} in OpenAPI.
            var path = pattern.Replace("{**", "{", StringComparison.Ordinal);
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is missing from the document");
            Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out var operation),
                $"{method} {path} is missing from the document");
            foreach (var field in new[] { "operationId", "summary" })
            {
                var value = operation.GetProperty(field).GetString();
                Assert.False(string.IsNullOrEmpty(value), $"{method} {path} has no {field}");
            }

            var errors = operation.GetProperty("responses").EnumerateObject()
                .Where(r => r.Name[0] is '4' or '5').ToList();
            Assert.True(errors.Count >= 4, $"{method} {path} documents {errors.Count} error responses");
            foreach (var error in errors)
            {
                var schema = error.Value.GetProperty("content").GetProperty("application/json").GetProperty("schema");
                Assert.Equal("#/components/schemas/ApiError", schema.GetProperty("$ref").GetString());
                Assert.False(string.IsNullOrEmpty(error.Value.GetProperty("description").GetString()));
            }
        }

        // /metrics is a prometheus-net pipeline the explorer skips: described by hand, so checked by name.
        Assert.True(paths.TryGetProperty("/metrics", out _), "/metrics is missing from the document");
        var page = await client.GetStringAsync("docs/");
        Assert.Contains("<script src=\"scalar.js\"></script>", page, StringComparison.Ordinal);
        using var script = await client.GetAsync("docs/scalar.js");
        Assert.True(script.IsSuccessStatusCode, "/docs/scalar.js is served by the node (no CDN)");
    }

    [Fact]
    public async Task The_root_redirects_to_the_ui_which_is_served_from_the_binary()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("root", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("HTTP_PORT", "0"),
            ("GOSSIP_PORT", "0"), ("TRANSFER_PORT", "0")));
        using var handler = new HttpClientHandler { AllowAutoRedirect = false };
        using var client = new HttpClient(handler) { BaseAddress = host.HttpAddress };
        using var root = await client.GetAsync("");
        Assert.Equal(System.Net.HttpStatusCode.Redirect, root.StatusCode);
        Assert.Equal("/ui/", root.Headers.Location?.ToString());
        var index = await client.GetStringAsync("ui/");
        Assert.Contains("<script type=\"module\" src=\"app.js\"></script>", index, StringComparison.Ordinal);
        using var script = await client.GetAsync("ui/app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        using var missing = await client.GetAsync("ui/nothing-here.js");
        await Nodes.AssertErrorAsync(missing, 404, "not_found");
    }

    private static Gateway GatewayOf(NodeHost host) =>
        (Gateway)typeof(NodeHost).GetField("_gateway", BindingFlags.NonPublic | BindingFlags.Instance)!
            .GetValue(host)!;
}
