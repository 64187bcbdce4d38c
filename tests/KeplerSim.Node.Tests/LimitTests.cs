using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

[Trait("Category", "Real")]
public sealed class LimitTests
{
    [Fact]
    public async Task An_upload_over_MAX_UPLOAD_MB_is_413()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("limited", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("MAX_UPLOAD_MB", "1")));
        using var client = Nodes.Client(host.HttpAddress);
        // With a Content-Length: refused before the body is read.
        await Nodes.AssertErrorAsync(await client.PutAsync("api/files/big.bin",
            new ByteArrayContent(new byte[2 * 1024 * 1024])), 413, "too_large");
        // Chunked: refused while streaming.
        var chunked = new StreamContent(new MemoryStream(new byte[2 * 1024 * 1024]));
        var request = new HttpRequestMessage(HttpMethod.Put, "api/files/big2.bin") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await Nodes.AssertErrorAsync(await client.SendAsync(request), 413, "too_large");
        await Nodes.AssertErrorAsync(await client.GetAsync("api/files/big2.bin"), 404, "not_found");
    }

    [Fact]
    public async Task A_full_disk_is_507_and_leaves_no_partial_file()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("full", dir);
        await using var host = await Nodes.StartInProcessAsync(
            spec.Environment([], ("MAX_DISK_MB", "2"), ("CHUNK_SIZE_MB", "1")));
        using var client = Nodes.Client(host.HttpAddress);
        await Nodes.AssertErrorAsync(await client.PutAsync("api/files/huge.bin",
            new ByteArrayContent(Nodes.RandomBytes(5 * 1024 * 1024))), 507, "disk_full");
        await Nodes.AssertErrorAsync(await client.GetAsync("api/files/huge.bin"), 404, "not_found");
        var tmp = Path.Combine(spec.DataDir, "chunks", "tmp");
        Assert.True(!Directory.Exists(tmp) || Directory.GetFiles(tmp).Length == 0, "no tmp file is left behind");
    }

    /// <summary>
    /// A full node used to stay full: deletes freed nothing within the fixed hour of GC grace, and the chunks of
    /// the upload that hit the quota counted against it (issue 18). With GC_GRACE short, a delete frees its
    /// chunks and the failed upload's leftovers go too, so the next upload succeeds without a restart.
    /// </summary>
    [Fact]
    public async Task A_full_node_becomes_writable_again_after_a_delete_without_a_restart()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("refill", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("MAX_DISK_MB", "4"),
            ("CHUNK_SIZE_MB", "1"), ("WRITE_TIMEOUT_MS", "1000"), ("GC_GRACE", "22s")));
        using var client = Nodes.Client(host.HttpAddress);
        using (var first = await client.PutAsync("api/files/first.bin", new ByteArrayContent(
            Nodes.RandomBytes(3 * 1024 * 1024))))
        {
            Assert.True(first.IsSuccessStatusCode, await first.Content.ReadAsStringAsync());
        }

        var second = Nodes.RandomBytes(3 * 1024 * 1024);
        await Nodes.AssertErrorAsync(await client.PutAsync("api/files/second.bin", new ByteArrayContent(second)),
            507, "disk_full");
        using (var delete = await client.DeleteAsync("api/files/first.bin"))
        {
            Assert.True(delete.IsSuccessStatusCode, await delete.Content.ReadAsStringAsync());
        }

        // The grace (22 s) and a GC run (every 11 s) later, the space is back.
        await Wait.WaitUntil(async () =>
        {
            using var retry = await client.PutAsync("api/files/second.bin", new ByteArrayContent(second));
            return retry.IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(90), "an upload to succeed once GC freed the deleted file's chunks");
        Assert.Equal(second, await client.GetByteArrayAsync("api/files/second.bin"));
    }
}
