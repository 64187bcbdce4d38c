using System.Net;
using KeplerSim.Node.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace KeplerSim.Node.Tests.Ui;

/// <summary>
/// The browser UI against three real kepler-node processes (SWIM through SEEDS): a file uploaded through node 1's
/// UI is listed on node 2's, downloads byte for byte, shows its versions and is deleted there; a killed node turns
/// suspect, then dead on the Cluster page. Each page is saved as a screenshot (the path is printed).
/// </summary>
[Trait("Category", "Real")]
public sealed class UiClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Upload_on_one_node_download_and_delete_on_another_then_a_killed_node_turns_suspect_then_dead()
    {
        using var dir = new TempDir();
        var specs = new[] { "s1", "s2", "s3" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var seed = ("SEEDS", $"127.0.0.1:{specs[0].GossipPort}");
        var nodes = specs.Select(s => new ProcessNode(s, s.Environment([], seed, ("CHUNK_SIZE_MB", "1"),
            ("REPLICATION_FACTOR", "2"), ("SWIM_PROBE_INTERVAL_MS", "200")))).ToList();
        var offsite = new List<string>();
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            await using var browser = await Browser.LaunchAsync();
            var data = Nodes.RandomBytes(1024 * 1024 + 4321);
            var upload = Path.Combine(dir.Path, "ui-test.bin");
            await File.WriteAllBytesAsync(upload, data);

            var first = await browser.PageAsync(offsite);
            await UploadAsync(first, specs[0], upload);
            var second = await browser.PageAsync(offsite);
            await ListDownloadAndShowVersionsAsync(second, specs[1], data, dir.Path);
            await DeleteAsync(second, specs[1]);

            await ClusterPageAsync(first, specs[0], nodes[2]);
            await NodePageAsync(first, specs[0]);
            Assert.True(offsite.Count == 0, "the UI asked for off-machine URLs: " + string.Join(", ", offsite));
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Dispose();
            }
        }
    }

    /// <summary>Uploads through the file picker into the folder e2e/; waits for its progress row to finish.</summary>
    private async Task UploadAsync(IPage page, NodeSpec node, string file)
    {
        await page.GotoAsync(new Uri(node.Url, "ui/#/files/e2e/").ToString());
        await page.GetByLabel("Choose files…").SetInputFilesAsync(file);
        var row = page.GetByRole(AriaRole.List, new() { Name = "Uploads" }).GetByRole(AriaRole.Listitem);
        await Assertions.Expect(row).ToHaveClassAsync("done");
        await Assertions.Expect(page.GetByRole(AriaRole.Progressbar, new() { Name = "Upload of ui-test.bin" }))
            .ToHaveAttributeAsync("value",
                new FileInfo(file).Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // The folder's listing on the uploading node shows the file right away.
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "ui-test.bin", Exact = true }))
            .ToBeVisibleAsync();
        output.WriteLine("screenshot: " + await Browser.ScreenshotAsync(page, "files-upload"));
    }

    private async Task ListDownloadAndShowVersionsAsync(IPage page, NodeSpec node, byte[] data, string dir)
    {
        await page.GotoAsync(new Uri(node.Url, "ui/#/files/").ToString());
        // The folder comes from the path prefix; the manifest reaches node 2 by gossip, so refresh until it shows.
        var folder = page.GetByRole(AriaRole.Link, new() { Name = "e2e/" });
        await Wait.WaitUntil(async () =>
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
            return await folder.CountAsync() > 0;
        }, Timeout, "node 2's UI to list the folder e2e/");
        await folder.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "ui-test.bin", Exact = true }))
            .ToBeVisibleAsync();

        var download = await page.RunAndWaitForDownloadAsync(() =>
            page.GetByRole(AriaRole.Link, new() { Name = "Download ui-test.bin" }).ClickAsync());
        var saved = Path.Combine(dir, "downloaded.bin");
        await download.SaveAsAsync(saved);
        var downloaded = await File.ReadAllBytesAsync(saved);
        Assert.True(data.AsSpan().SequenceEqual(downloaded),
            "the file downloaded through node 2's UI equals the one uploaded through node 1's");

        await page.GetByRole(AriaRole.Button, new() { Name = "Versions of ui-test.bin" }).ClickAsync();
        var versions = page.GetByRole(AriaRole.Table, new() { Name = "Versions of e2e/ui-test.bin" });
        await Assertions.Expect(versions.GetByRole(AriaRole.Row).Nth(1)).ToContainTextAsync("current");
        await Assertions.Expect(versions.GetByRole(AriaRole.Row).Nth(1)).ToContainTextAsync("@s1");
        output.WriteLine("screenshot: " + await Browser.ScreenshotAsync(page, "files"));
    }

    private static async Task DeleteAsync(IPage page, NodeSpec node)
    {
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete ui-test.bin" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "ui-test.bin", Exact = true }))
            .ToHaveCountAsync(0);
        using var client = Nodes.Client(node.Url);
        using var response = await client.GetAsync("api/files/e2e/ui-test.bin");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>
    /// All three alive, then node 3 killed: every state its row shows is recorded in the page (a MutationObserver),
    /// so a short suspicion is not missed between two polls of the test.
    /// </summary>
    private async Task ClusterPageAsync(IPage page, NodeSpec node, ProcessNode victim)
    {
        await page.GotoAsync(new Uri(node.Url, "ui/#/cluster").ToString());
        var states = page.Locator("[data-member] [data-state]");
        await Wait.WaitUntil(async () => (await states.AllTextContentsAsync()).Count(s => s == "alive") == 3,
            Timeout, "the Cluster page to show three alive members");
        await Assertions.Expect(page.GetByRole(AriaRole.Img, new() { NameRegex = new("^Ring: s1 owns") }))
            .ToBeVisibleAsync();
        output.WriteLine("screenshot: " + await Browser.ScreenshotAsync(page, "cluster"));

        var id = victim.Spec.Id;
        await page.EvaluateAsync(@"id => {
            window.seen = [];
            const record = () => {
              const state = document.querySelector(`[data-member=""${id}""] [data-state]`)?.dataset.state;
              if (state && window.seen[window.seen.length - 1] !== state) window.seen.push(state);
            };
            new MutationObserver(record).observe(document.body, { subtree: true, childList: true,
              attributes: true, characterData: true });
            record();
          }", id);
        var killed = System.Diagnostics.Stopwatch.StartNew();
        victim.Kill();
        var badge = page.Locator($"[data-member=\"{id}\"] [data-state]");
        await Assertions.Expect(badge).ToHaveAttributeAsync("data-state", "dead", new() { Timeout = 60_000 });
        var seen = await page.EvaluateAsync<string[]>("() => window.seen");
        output.WriteLine($"{id}'s states on the Cluster page: {string.Join(" → ", seen)}");
        Assert.Equal(["alive", "suspect", "dead"], seen);
        await LastHeardAsync(page, id, killed);
        output.WriteLine("screenshot: " + await Browser.ScreenshotAsync(page, "cluster-dead"));
    }

    /// <summary>
    /// "Last heard" is the node's own record, not a guess: the killed member's age keeps growing with the time since
    /// the kill (within the page's one-second refresh and the last probe before the kill), while the live member's
    /// stays fresh.
    /// </summary>
    private async Task LastHeardAsync(IPage page, string dead, System.Diagnostics.Stopwatch sinceKill)
    {
        var cell = page.Locator($"[data-member=\"{dead}\"] [data-heard]");
        async Task<double> HeardAsync(ILocator at) => double.Parse(await at.GetAttributeAsync("data-heard") ?? "",
            System.Globalization.CultureInfo.InvariantCulture);
        await Wait.WaitUntil(async () => await HeardAsync(cell) >= 5, Timeout,
            $"the Cluster page to show {dead} last heard 5 s ago or more");
        var (heard, elapsed) = (await HeardAsync(cell), sinceKill.Elapsed.TotalSeconds);
        output.WriteLine($"{dead} last heard {heard:F1} s ago, killed {elapsed:F1} s ago: " +
            await cell.TextContentAsync());
        Assert.True(heard <= elapsed + 1.5, $"{dead} heard {heard} s ago but killed only {elapsed} s ago");
        Assert.True(heard >= elapsed - 3, $"{dead} heard {heard} s ago, killed {elapsed} s ago: not growing");
        await Assertions.Expect(cell).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+ s ago$"));
        var live = await HeardAsync(page.Locator("[data-member=\"s2\"] [data-heard]"));
        Assert.True(live < 3, $"s2, alive and probed every 200 ms, last heard {live} s ago");
        await Assertions.Expect(page.Locator("[data-member=\"s1\"] [data-heard]")).ToHaveTextAsync("this node");
    }

    private async Task NodePageAsync(IPage page, NodeSpec node)
    {
        await page.GotoAsync(new Uri(node.Url, "ui/#/node").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = node.Id, Exact = true }))
            .ToBeVisibleAsync();
        // The events the UI received since it opened (on the Cluster page, while s3 died) are listed here.
        await Assertions.Expect(page.GetByRole(AriaRole.List, new() { Name = "Recent events, newest first" }))
            .ToContainTextAsync("member.dead");
        await Assertions.Expect(page.GetByRole(AriaRole.Img, new() { NameRegex = new("^HTTP requests.s: now \\d") }))
            .ToBeVisibleAsync();
        // Sparklines draw a line once two rates were sampled (three scrapes, 2 s apart).
        await Assertions.Expect(page.Locator("figure.spark polyline").First)
            .ToHaveAttributeAsync("points", new System.Text.RegularExpressions.Regex(@"^\S+ \S+"));
        output.WriteLine("screenshot: " + await Browser.ScreenshotAsync(page, "node"));
    }
}
