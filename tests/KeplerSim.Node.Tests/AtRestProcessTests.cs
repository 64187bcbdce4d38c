using System.Net;
using System.Security.Cryptography;
using KeplerSim.Core.Storage;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// ENCRYPTION_KEY on a real node process: chunk files on disk hold no plaintext, a restart with another key (or
/// none) refuses to start and changes nothing, and a store written without a key stays readable once it is set.
/// </summary>
[Trait("Category", "Real")]
public sealed class AtRestProcessTests
{
    private static readonly string KeyA = Convert.ToBase64String(Enumerable.Repeat((byte)0xA1, 32).ToArray());
    private static readonly string KeyB = Convert.ToBase64String(Enumerable.Repeat((byte)0xB2, 32).ToArray());

    private static Dictionary<string, string?> Environment(NodeSpec spec, string? key) =>
        key is null ? spec.Environment([], ("CHUNK_SIZE_MB", "1")) :
            spec.Environment([], ("CHUNK_SIZE_MB", "1"), ("ENCRYPTION_KEY", key));

    private static async Task PutAsync(NodeSpec spec, string path, byte[] data)
    {
        using var client = Nodes.Client(spec.Url);
        var response = await client.PutAsync("api/files/" + path, new ByteArrayContent(data));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<byte[]> GetAsync(NodeSpec spec, string path)
    {
        using var client = Nodes.Client(spec.Url);
        var response = await client.GetAsync("api/files/" + path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>Chunk files (the key check excluded): id → bytes.</summary>
    private static SortedDictionary<string, byte[]> Chunks(NodeSpec spec) =>
        new(ChunkFiles.List(spec.DataDir).Where(f => ChunkStore.IsValidId(f.Key))
            .ToDictionary(f => f.Key, f => File.ReadAllBytes(f.Value)), StringComparer.Ordinal);

    /// <summary>
    /// Every file of the chunk store (chunks, key check, tmp) with its hash. The SQLite files are left out: opening
    /// the database after a kill -9 replays its WAL, which changes the files but not what they hold.
    /// </summary>
    private static List<string> Snapshot(NodeSpec spec) =>
        [.. Directory.EnumerateFiles(Path.Combine(spec.DataDir, ChunkStore.RootDirectory), "*",
                SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => f + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))];

    [Fact]
    public async Task Chunk_files_hold_no_plaintext_and_a_wrong_key_refuses_to_start_leaving_the_store_untouched()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("at-rest", dir);
        var data = Nodes.RandomBytes(2_500_000); // Three chunks of 1 MiB, the last one partial.
        using (var node = new ProcessNode(spec, Environment(spec, KeyA)))
        {
            await node.StartAsync();
            await PutAsync(spec, "secret.bin", data);
            Assert.Equal(data, await GetAsync(spec, "secret.bin"));
            node.Kill();
        }

        var chunks = Chunks(spec);
        Assert.Equal(3, chunks.Count);
        foreach (var (id, file) in chunks)
        {
            Assert.True(AtRestFormat.HasMagic(file), $"chunk {id} is sealed");
            for (var at = 0; at + 64 <= data.Length; at += 4096)
            {
                Assert.True(file.AsSpan().IndexOf(data.AsSpan(at, 64)) < 0,
                    $"chunk file {id} contains plaintext bytes from offset {at}");
            }
        }

        var before = Snapshot(spec);
        Assert.Contains(before, f => f.Contains("keycheck", StringComparison.Ordinal));
        foreach (var (key, expected) in new[] { (KeyB, "is not the key"), (null, "no at-rest key is configured") })
        {
            var (code, error) = await ApiTokenTests.StartExpectingFailureAsync(Environment(spec, key));
            Assert.Equal(1, code);
            Assert.Contains("cannot start:", error, StringComparison.Ordinal);
            Assert.Contains(expected, error, StringComparison.Ordinal);
            Assert.Equal(before, Snapshot(spec));
        }

        using var again = new ProcessNode(spec, Environment(spec, KeyA));
        await again.StartAsync();
        Assert.Equal(data, await GetAsync(spec, "secret.bin"));
    }

    [Theory]
    [InlineData("c2hvcnQ=", "5 bytes: expected 32")]
    [InlineData("not base64 at all!", "not base64")]
    [InlineData("@/nonexistent/key", "cannot read")]
    public void A_bad_key_is_a_config_error_that_never_echoes_it(string value, string expected)
    {
        var error = Assert.Throws<Hosting.ConfigException>(() => Hosting.NodeConfig.Load(
            new Dictionary<string, string?> { ["NODE_ID"] = "n1", ["ENCRYPTION_KEY"] = value }));
        Assert.Equal("ENCRYPTION_KEY", error.Variable);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2hvcnQ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_loads_from_a_file()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Sub("key"), KeyA + "\n");
        var config = Hosting.NodeConfig.Load(
            new Dictionary<string, string?> { ["NODE_ID"] = "n1", ["ENCRYPTION_KEY"] = "@" + dir.Sub("key") });
        Assert.Equal(AtRestKey.FromBase64(KeyA).IdHex, config.EncryptionKey!.IdHex);
    }

    [Fact]
    public async Task A_store_written_without_a_key_stays_readable_after_the_key_is_turned_on()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("mixed", dir);
        var plain = Nodes.RandomBytes(1_500_000);
        var sealedData = Nodes.RandomBytes(1_500_000);
        using (var node = new ProcessNode(spec, Environment(spec, null)))
        {
            await node.StartAsync();
            await PutAsync(spec, "plain.bin", plain);
            node.Kill();
        }

        var plainChunks = Chunks(spec);
        Assert.All(plainChunks.Values, f => Assert.False(AtRestFormat.HasMagic(f)));
        using (var node = new ProcessNode(spec, Environment(spec, KeyA)))
        {
            await node.StartAsync();
            Assert.Equal(plain, await GetAsync(spec, "plain.bin"));
            await PutAsync(spec, "sealed.bin", sealedData);
            node.Kill();
        }

        var all = Chunks(spec);
        Assert.Equal(4, all.Count);
        Assert.All(all.Where(c => !plainChunks.ContainsKey(c.Key)), c => Assert.True(AtRestFormat.HasMagic(c.Value),
            $"chunk {c.Key} written with the key is sealed"));
        Assert.All(plainChunks, c => Assert.Equal(c.Value, all[c.Key]));

        using var again = new ProcessNode(spec, Environment(spec, KeyA));
        await again.StartAsync();
        Assert.Equal(plain, await GetAsync(spec, "plain.bin"));
        Assert.Equal(sealedData, await GetAsync(spec, "sealed.bin"));
    }
}
