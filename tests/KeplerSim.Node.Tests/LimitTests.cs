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
}
