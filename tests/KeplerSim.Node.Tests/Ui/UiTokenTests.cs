using KeplerSim.Node.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace KeplerSim.Node.Tests.Ui;

/// <summary>
/// With API_TOKENS on, the UI asks for a token, refuses a wrong one with the node's message, works with a right
/// one, and keeps it in sessionStorage only: a new browser session asks again.
/// </summary>
[Trait("Category", "Real")]
public sealed class UiTokenTests(ITestOutputHelper output)
{
    private const string Secret = "ui-reader-secret-0123456789";

    [Fact]
    public async Task The_ui_asks_for_a_token_and_keeps_it_for_the_session_only()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("tok", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("HTTP_PORT", "0"),
            ("GOSSIP_PORT", "0"), ("TRANSFER_PORT", "0"), ("API_TOKENS", $"viewer:{Secret}:read")));
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

        // A reload in the same tab stays signed in; a new session (another context) asks again.
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "tok (this node)" })).ToBeVisibleAsync();
        var other = await browser.PageAsync(offsite);
        await other.GotoAsync(ui);
        await Assertions.Expect(other.GetByLabel("API token")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("API token")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('kepler.token')"));
        Assert.True(offsite.Count == 0, "the UI asked for off-machine URLs: " + string.Join(", ", offsite));
    }
}
