using KeplerSim.Node.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace KeplerSim.Node.Tests.Ui;

/// <summary>
/// With API_TOKENS on, the UI asks for a token, refuses a wrong one with the node's message, works with a right
/// one, downloads through a signed URL, and keeps the token in sessionStorage only: a new browser session asks
/// again.
/// </summary>
[Trait("Category", "Real")]
public sealed class UiTokenTests(ITestOutputHelper output)
{
    private const string Secret = "ui-reader-secret-0123456789";
    private const string WriteSecret = "ui-writer-secret-0123456789";

    [Fact]
    public async Task The_ui_asks_for_a_token_and_keeps_it_for_the_session_only()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("tok", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("HTTP_PORT", "0"),
            ("GOSSIP_PORT", "0"), ("TRANSFER_PORT", "0"), ("API_TOKENS", $"viewer:{Secret}:read,writer:{WriteSecret}:write")));
        var data = Nodes.RandomBytes(200_000);
        using (var client = Nodes.Client(host.HttpAddress))
        {
            using var put = ApiTokenTests.Request(HttpMethod.Put, "api/files/secured/data.bin", WriteSecret, data);
            (await client.SendAsync(put)).EnsureSuccessStatusCode();
        }

        await using var browser = await Browser.LaunchAsync();
        var offsite = new List<string>();
        var page = await browser.PageAsync(offsite);
        var ui = new Uri(host.HttpAddress, "ui/#/cluster").ToString();
        await page.GotoAsync(ui);

        var field = page.GetByLabel("API token");
        await field.FillAsync("not-the-token");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("the API token is not valid");
        output.WriteLine("screenshot: " + await Browser.ScreenshotAsync(page, "login"));

        await field.FillAsync(Secret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "tok (this node)" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status, new() { Name = "events live" })).ToBeVisibleAsync();
        Assert.Equal(Secret, await page.EvaluateAsync<string>("() => sessionStorage.getItem('kepler.token')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length"));
        Assert.DoesNotContain(Secret, await page.EvaluateAsync<string>("() => document.cookie"),
            StringComparison.Ordinal);

        // A link cannot carry the token: the UI asks for a signed URL and the browser follows it as a plain link,
        // streaming to disk (no Authorization header on the download itself, no blob in the page).
        await page.GotoAsync(new Uri(host.HttpAddress, "ui/#/files/secured/").ToString());
        var download = await page.RunAndWaitForDownloadAsync(() =>
            page.GetByRole(AriaRole.Link, new() { Name = "Download data.bin" }).ClickAsync());
        output.WriteLine("downloaded from " + download.Url);
        Assert.StartsWith(new Uri(host.HttpAddress, "api/files/secured/data.bin?version=").ToString(), download.Url,
            StringComparison.Ordinal);
        Assert.Contains("&sig=", download.Url, StringComparison.Ordinal);
        var saved = Path.Combine(dir.Path, "downloaded.bin");
        await download.SaveAsAsync(saved);
        var downloaded = await File.ReadAllBytesAsync(saved);
        Assert.True(data.AsSpan().SequenceEqual(downloaded), "the file downloaded with the token is the one stored");
        using (var anonymous = Nodes.Client(host.HttpAddress))
        using (var again = await anonymous.GetAsync(download.Url))
        {
            // The URL is the credential: it works without a token (and DownloadUrlTests shows for what only).
            Assert.Equal(System.Net.HttpStatusCode.OK, again.StatusCode);
        }

        // A reload in the same tab stays signed in; a new session (another context) asks again.
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Files", Exact = true }))
            .ToBeVisibleAsync();
        await Assertions.Expect(page.GetByLabel("API token")).ToHaveCountAsync(0);
        var other = await browser.PageAsync(offsite);
        await other.GotoAsync(ui);
        await Assertions.Expect(other.GetByLabel("API token")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("API token")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('kepler.token')"));
        Assert.True(offsite.Count == 0, "the UI asked for off-machine URLs: " + string.Join(", ", offsite));
    }

    [Fact]
    public async Task The_openapi_document_stays_open_and_documents_401_and_403_on_protected_endpoints()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("tokdoc", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("HTTP_PORT", "0"),
            ("GOSSIP_PORT", "0"), ("TRANSFER_PORT", "0"), ("API_TOKENS", $"viewer:{Secret}:read")));
        using var client = Nodes.Client(host.HttpAddress);
        using var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        var status = paths.GetProperty("/api/status").GetProperty("get").GetProperty("responses");
        Assert.True(status.TryGetProperty("401", out _), "GET /api/status documents 401 with tokens on");
        Assert.True(status.TryGetProperty("403", out _), "GET /api/status documents 403 with tokens on");
        var health = paths.GetProperty("/health").GetProperty("get").GetProperty("responses");
        Assert.False(health.TryGetProperty("401", out _), "/health stays open, so no 401");
        using var docs = await client.GetAsync("docs/");
        Assert.True(docs.IsSuccessStatusCode, "/docs/ answers without a token");
    }
}
