using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace KeplerSim.Node.Tests.Ui;

/// <summary>One in-process node with a few files, and a browser, shared by <see cref="UiPageTests"/>.</summary>
public sealed class UiNodeFixture : IAsyncLifetime
{
    public TempDir Dir { get; } = new();

    public NodeHost Host { get; private set; } = null!;

    public Browser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var spec = NodeSpec.Create("ui", Dir);
        Host = await Nodes.StartInProcessAsync(spec.Environment([], ("HTTP_PORT", "0"), ("GOSSIP_PORT", "0"),
            ("TRANSFER_PORT", "0"), ("CHUNK_SIZE_MB", "1")));
        using var client = Nodes.Client(Host.HttpAddress);
        foreach (var path in new[] { "photos/2026/" + UiPageTests.LongName, "notes.txt" })
        {
            using var content = new ByteArrayContent(Nodes.RandomBytes(2048));
            (await client.PutAsync("api/files/" + path, content)).EnsureSuccessStatusCode();
        }

        Browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await Host.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>
/// Each page at phone width (390 px) and on a desktop: nothing wider than the screen, every control reachable with
/// Tab and named for a screen reader; the pages load nothing from off the machine.
/// </summary>
[Trait("Category", "Real")]
public sealed class UiPageTests(UiNodeFixture fixture, ITestOutputHelper output) : IClassFixture<UiNodeFixture>
{
    /// <summary>A name longer than a phone is wide: it must wrap, not widen the page.</summary>
    internal const string LongName = "a-rather-long-file-name-straight-from-a-camera-DSC-000000001.jpg";

    private const int PhoneWidth = 390;

    // Every control the page offers: what Tab must reach, and what needs a name.
    private const string Controls = "a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])";

    [Theory]
    [InlineData("files/photos/2026/")]
    [InlineData("cluster")]
    [InlineData("node")]
    public async Task A_page_fits_a_phone_and_tab_reaches_every_control_each_with_a_name(string route)
    {
        var offsite = new List<string>();
        var page = await fixture.Browser.PageAsync(offsite, PhoneWidth, 844);
        await page.GotoAsync(new Uri(fixture.Host.HttpAddress, "ui/#/" + route).ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("Loading")).ToHaveCountAsync(0);
        if (route.StartsWith("files", StringComparison.Ordinal))
        {
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Delete " + LongName }))
                .ToBeVisibleAsync();
        }

        var width = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        Assert.True(width <= PhoneWidth, $"#/{route} is {width} px wide at a {PhoneWidth} px viewport");
        output.WriteLine("screenshot: " + await Browser.ScreenshotAsync(page, "phone-" + route.Split('/')[0]));

        var unnamed = await page.EvaluateAsync<string[]>(NamelessScript, Controls);
        Assert.True(unnamed.Length == 0, "controls without an accessible name: " + string.Join(", ", unnamed));

        var all = await page.EvaluateAsync<string[]>(
            "selector => [...document.querySelectorAll(selector)].filter(e => !e.disabled).map(e => e.outerHTML)",
            Controls);
        var reached = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < all.Length + 3; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("() => document.activeElement?.outerHTML ?? ''"));
        }

        var missed = all.Where(c => !reached.Contains(c)).ToList();
        Assert.True(missed.Count == 0, $"Tab never reached {missed.Count} of {all.Length} controls: " +
            string.Join(" | ", missed.Select(m => m.Length > 120 ? m[..120] : m)));
        Assert.True(all.Length >= 5, $"#/{route} has only {all.Length} controls: the page did not render");
        Assert.True(offsite.Count == 0, "the UI asked for off-machine URLs: " + string.Join(", ", offsite));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_file_dropped_on_the_page_is_uploaded_with_progress_and_listed()
    {
        var offsite = new List<string>();
        var page = await fixture.Browser.PageAsync(offsite);
        await page.GotoAsync(new Uri(fixture.Host.HttpAddress, "ui/#/files/dropped/").ToString());
        // What a drag from the desktop delivers: a drop event whose DataTransfer holds a File.
        var drop = await page.EvaluateHandleAsync("""
            () => {
              const data = new DataTransfer();
              data.items.add(new File([new Uint8Array(300000).fill(7)], 'dropped.bin'));
              return data;
            }
            """);
        var zone = page.GetByRole(AriaRole.Region, new() { Name = "Upload" });
        await zone.DispatchEventAsync("dragover", new Dictionary<string, object> { ["dataTransfer"] = drop });
        await zone.DispatchEventAsync("drop", new Dictionary<string, object> { ["dataTransfer"] = drop });
        await Assertions.Expect(page.GetByRole(AriaRole.Progressbar, new() { Name = "Upload of dropped.bin" }))
            .ToHaveAttributeAsync("value", "300000");
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "dropped.bin", Exact = true }))
            .ToBeVisibleAsync();
        using var client = Nodes.Client(fixture.Host.HttpAddress);
        var stored = await client.GetByteArrayAsync("api/files/dropped/dropped.bin");
        Assert.True(stored.Length == 300000 && stored.All(b => b == 7), "the dropped file's bytes were stored");
        Assert.True(offsite.Count == 0, "the UI asked for off-machine URLs: " + string.Join(", ", offsite));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_api_reference_page_renders_offline_from_the_openapi_document()
    {
        var offsite = new List<string>();
        var page = await fixture.Browser.PageAsync(offsite);
        var document = page.WaitForResponseAsync(r => r.Url.EndsWith(KeplerSim.Node.Http.Gateway.OpenApiPath,
            StringComparison.Ordinal));
        await page.GotoAsync(new Uri(fixture.Host.HttpAddress, "docs").ToString());
        Assert.True((await document).Ok, "/docs fetched the OpenAPI document");
        await Assertions.Expect(page.GetByText("KeplerFS node HTTP API").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("Upload a file (the body, streamed)").First).ToBeVisibleAsync();
        output.WriteLine("screenshot: " + await Browser.ScreenshotAsync(page, "docs", fullPage: false));
        Assert.True(offsite.Count == 0, "/docs asked for off-machine URLs: " + string.Join(", ", offsite));
        await page.Context.CloseAsync();
    }

    /// <summary>Each control's accessible name, roughly as a screen reader computes it; returns the nameless.</summary>
    private const string NamelessScript = """
        selector => [...document.querySelectorAll(selector)].filter(e => {
          const labelled = e.getAttribute('aria-labelledby');
          const name = e.getAttribute('aria-label')
            || (labelled && document.getElementById(labelled)?.textContent)
            || (e.id && document.querySelector(`label[for="${e.id}"]`)?.textContent)
            || e.closest('label')?.textContent
            || e.textContent
            || e.getAttribute('title');
          return !name || !name.trim();
        }).map(e => e.outerHTML.slice(0, 120))
        """;
}
