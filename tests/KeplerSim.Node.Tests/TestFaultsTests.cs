using System.Net;
using KeplerSim.Core.Manifests;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Runtime;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// KEPLER_TEST_FAULTS: the test-only clock offset and disk quota that let a scenario's <c>clock</c> and <c>disk</c>
/// steps run against a real node (<c>kepler-sim run FILE --real</c>), and the endpoints that change them at runtime.
/// </summary>
[Trait("Category", "Real")]
public sealed class TestFaultsTests
{
    private const long HourMicroseconds = 3_600_000_000;

    private static Dictionary<string, string?> With(string? value) =>
        new() { ["NODE_ID"] = "a", ["KEPLER_TEST_FAULTS"] = value };

    [Fact]
    public void The_setting_gives_the_start_clock_and_quota()
    {
        Assert.Null(NodeConfig.Load(With(null)).TestFaults);
        Assert.Equal(new TestFaultSettings(0, 0), NodeConfig.Load(With("on")).TestFaults);
        Assert.Equal(new TestFaultSettings(-2_000_000, 1500.5, 20_000), NodeConfig.Load(
            With("clock_skew_us=-2000000, clock_drift_ppm=1500.5,disk_capacity_bytes=20000")).TestFaults);
    }

    [Theory]
    [InlineData("clock_skew_us=ten")]
    [InlineData("clock_skew_us=9999999999999999")]
    [InlineData("clock_drift_ppm=200000")]
    [InlineData("clock_drift_ppm=NaN")]
    [InlineData("disk_capacity_bytes=-1")]
    [InlineData("clock_offset=1")]
    [InlineData("yes")]
    public void A_bad_entry_stops_the_node_naming_it(string entry)
    {
        var e = Assert.Throws<ConfigException>(() => NodeConfig.Load(With(entry)));

        Assert.Equal("KEPLER_TEST_FAULTS", e.Variable);
        Assert.Contains($"'{entry}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_clock_skews_jumps_and_drifts_but_never_runs_backwards()
    {
        var clock = new TestClock(skewMicroseconds: HourMicroseconds);
        var host = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        Assert.InRange(clock.Wall(host) - host, HourMicroseconds - 1_000_000, HourMicroseconds + 1_000_000);

        clock.Jump(-2 * HourMicroseconds);
        Assert.Equal(-HourMicroseconds, clock.SkewMicroseconds);

        var before = clock.MonotonicMicroseconds;
        clock.Set(0, driftPpm: 100_000); // 10 % fast: a timer of 110 ms waits 100 ms of the host's.
        Assert.True(clock.MonotonicMicroseconds >= before, "a drift change re-anchors the monotonic clock");
        Assert.Equal(100_000, clock.HostDelay(110_000));
        clock.Set(0, driftPpm: -100_000);
        Assert.True(clock.MonotonicMicroseconds >= before, "slowing down never moves the clock back");
        clock.Jump(TestClock.OffsetMicrosecondsMax);
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.Jump(1));
        Assert.Equal(TestClock.OffsetMicrosecondsMax, clock.SkewMicroseconds);
    }

    [Fact]
    public async Task A_clock_step_moves_the_versions_a_node_writes()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("clock", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("KEPLER_TEST_FAULTS", "on")));
        using var client = Nodes.Client(host.HttpAddress);

        using var set = await client.PutAsync($"api/test/clock?skew_us={HourMicroseconds}&drift_ppm=0", null);
        Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        using var put = await client.PutAsync("api/files/skewed.bin", new ByteArrayContent([1, 2, 3]));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var version = (await Nodes.JsonAsync(put)).GetProperty("version").GetString()!;

        Assert.True(VersionToken.TryParse(version, out var token), version);
        Assert.True(token.WallMicroseconds >= now + HourMicroseconds - 60_000_000,
            $"the version {version} is not an hour ahead of the host's {now}");
        await Nodes.AssertErrorAsync(await client.PutAsync("api/test/clock?jump_us=soon", null), 400,
            "invalid_test_fault");
        await Nodes.AssertErrorAsync(await client.PutAsync("api/test/clock?drift_ppm=1e9", null), 400,
            "invalid_test_fault");
    }

    [Fact]
    public async Task A_disk_step_fills_the_disk_and_a_later_one_frees_it()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("disk", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("KEPLER_TEST_FAULTS", "on"),
            ("CHUNK_SIZE_MB", "1")));
        using var client = Nodes.Client(host.HttpAddress);

        using (var full = await client.PutAsync("api/test/disk?capacity_bytes=1000", null))
        {
            Assert.True(full.IsSuccessStatusCode, await full.Content.ReadAsStringAsync());
        }

        await Nodes.AssertErrorAsync(await client.PutAsync("api/files/a.bin",
            new ByteArrayContent(Nodes.RandomBytes(64 * 1024))), 507, "disk_full");
        using (var free = await client.PutAsync("api/test/disk?capacity_bytes=100000000", null))
        {
            Assert.True(free.IsSuccessStatusCode, await free.Content.ReadAsStringAsync());
        }

        using var put = await client.PutAsync("api/files/a.bin", new ByteArrayContent(Nodes.RandomBytes(64 * 1024)));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        await Nodes.AssertErrorAsync(await client.PutAsync("api/test/disk?capacity_bytes=-5", null), 400,
            "invalid_test_fault");
        await Nodes.AssertErrorAsync(await client.PutAsync("api/test/disk", null), 400, "invalid_test_fault");
    }

    [Fact]
    public async Task The_endpoints_exist_only_under_the_setting_and_only_for_admins()
    {
        using var dir = new TempDir();
        var plain = NodeSpec.Create("plain", dir);
        await using (var host = await Nodes.StartInProcessAsync(plain.Environment([])))
        {
            using var client = Nodes.Client(host.HttpAddress);
            using var clock = await client.PutAsync("api/test/clock?jump_us=1", null);
            Assert.Equal(HttpStatusCode.NotFound, clock.StatusCode);
            Assert.Null(host.TestClock);
        }

        var secured = NodeSpec.Create("secured", dir);
        await using var guarded = await Nodes.StartInProcessAsync(secured.Environment([],
            ("KEPLER_TEST_FAULTS", "on"), ("API_TOKENS", ApiTokenTests.Tokens)));
        using var anonymous = Nodes.Client(guarded.HttpAddress);
        await Nodes.AssertErrorAsync(await anonymous.PutAsync("api/test/clock?jump_us=1", null), 401, "unauthorized");
        await Nodes.AssertErrorAsync(await anonymous.SendAsync(ApiTokenTests.Request(HttpMethod.Put,
            "api/test/disk?capacity_bytes=0", "write-secret-0123456789")), 403, "forbidden");
        Assert.Equal(0, guarded.TestClock!.SkewMicroseconds);
        Assert.Equal(long.MaxValue, guarded.Disk.QuotaBytes);
    }
}
