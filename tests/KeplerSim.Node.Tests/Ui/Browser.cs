using Microsoft.Playwright;

namespace KeplerSim.Node.Tests.Ui;

/// <summary>
/// Debian's chromium driven by Playwright, headless. Playwright never downloads a browser here: the executable is
/// given, and <c>PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD</c> is set in case anything asks (docs/UI.md).
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    /// <summary>The browser the tests drive (installed by .ci/run where missing).</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>Bounded waits in the browser: generous for a loaded 2-core machine, end once they hold.</summary>
    public const float TimeoutMs = 30_000;

    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Instance = browser;
    }

    public IBrowser Instance { get; }

    /// <summary>Where screenshots go: under the test output directory.</summary>
    public static string ArtifactsDir { get; } = Path.Combine(AppContext.BaseDirectory, "ui-artifacts");

    public static async Task<Browser> LaunchAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: .ci/run installs Debian's chromium");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Assertions.SetDefaultExpectTimeout(TimeoutMs);
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        return new Browser(playwright, browser);
    }

    /// <summary>
    /// A page in a fresh context (its own sessionStorage). Every request must stay on this machine: anything else
    /// (a CDN, a font host) is recorded in <paramref name="offsite"/> and refused, so the UI is proven offline.
    /// </summary>
    public async Task<IPage> PageAsync(List<string> offsite, int width = 1280, int height = 900)
    {
        var context = await Instance.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            AcceptDownloads = true,
        });
        context.SetDefaultTimeout(TimeoutMs);
        await context.RouteAsync("**/*", async route =>
        {
            var url = new Uri(route.Request.Url);
            if (url.Scheme is "http" or "https" && url.Host != "127.0.0.1")
            {
                lock (offsite)
                {
                    offsite.Add(route.Request.Url);
                }

                await route.AbortAsync();
                return;
            }

            await route.ContinueAsync();
        });
        return await context.NewPageAsync();
    }

    /// <summary>Saves a screenshot (of the whole page by default) as a test artifact and returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name, bool fullPage = true)
    {
        Directory.CreateDirectory(ArtifactsDir);
        var path = Path.Combine(ArtifactsDir, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Instance.DisposeAsync();
        _playwright.Dispose();
    }
}
