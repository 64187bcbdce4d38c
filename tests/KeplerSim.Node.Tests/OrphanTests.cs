using System.Net;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// Orphan collection on real processes (issue 18, point 1): an upload a client cuts off, or one a full disk fails,
/// used to leave its chunk files for good (7 orphan files of a 30 MiB partial upload on each of three nodes; a
/// node full under MAX_DISK_MB kept the failed upload's chunks). ORPHAN_GRACE is short here and GC_GRACE an hour,
/// so only the orphan collector can explain the files going.
/// </summary>
[Trait("Category", "Real")]
public sealed class OrphanTests
{
    private const int MiB = 1024 * 1024;
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task An_upload_cut_off_by_its_client_leaves_no_chunk_file_on_any_node_after_the_orphan_grace()
    {
        using var dir = new TempDir();
        var specs = new[] { "a", "b", "c" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var hosts = new List<KeplerSim.Node.Hosting.NodeHost>();
        try
        {
            foreach (var spec in specs)
            {
                hosts.Add(await Nodes.StartInProcessAsync(spec.Environment(specs, ("CHUNK_SIZE_MB", "1"),
                    ("ORPHAN_GRACE", "5s"), ("GC_GRACE", "1h"))));
            }

            using var client = Nodes.Client(hosts[0].HttpAddress);
            // The client announces 100 MiB, sends 30 MiB and disconnects.
            var content = new StreamContent(new CutOffStream(30L * MiB));
            content.Headers.ContentLength = 100L * MiB;
            await Assert.ThrowsAnyAsync<Exception>(() => client.PutAsync("api/files/partial.bin", content));

            await Wait.WaitUntil(() => specs.All(s => ChunkFiles(s) > 0), Slack,
                "every node to hold chunk files of the cut-off upload (else the test shows nothing)");
            var seen = specs.ToDictionary(s => s.Id, ChunkFiles);
            await Wait.WaitUntil(() => specs.All(s => ChunkFiles(s) == 0), TimeSpan.FromSeconds(5) + Slack,
                "the orphan chunk files to be gone on every node (held: " +
                string.Join(", ", seen.Select(kv => $"{kv.Key} {kv.Value}")) + ")");
            using var missing = await client.GetAsync("api/files/partial.bin");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_full_disk_keeps_no_chunk_of_the_failed_upload_after_the_orphan_grace()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("full", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([], ("MAX_DISK_MB", "4"),
            ("CHUNK_SIZE_MB", "1"), ("ORPHAN_GRACE", "3s"), ("GC_GRACE", "1h")));
        using var client = Nodes.Client(host.HttpAddress);
        using (var first = await client.PutAsync("api/files/first.bin",
            new ByteArrayContent(Nodes.RandomBytes(3 * MiB))))
        {
            Assert.True(first.IsSuccessStatusCode, await first.Content.ReadAsStringAsync());
        }

        Assert.Equal(3, ChunkFiles(spec));
        await Nodes.AssertErrorAsync(await client.PutAsync("api/files/second.bin",
            new ByteArrayContent(Nodes.RandomBytes(3 * MiB))), 507, "disk_full");
        Assert.True(ChunkFiles(spec) > 3, "the failed upload stored a chunk before the disk was full");

        // No delete, no restart: only the failed upload's own chunks go, the file's stay.
        await Wait.WaitUntil(() => ChunkFiles(spec) == 3, TimeSpan.FromSeconds(3) + Slack,
            "the failed upload's chunks to be collected as orphans");
        Assert.Equal(3 * MiB, (await client.GetByteArrayAsync("api/files/first.bin")).Length);
    }

    /// <summary>Chunk files (64-character names in the shards) in a node's data directory; tmp files not counted.
    /// </summary>
    private static int ChunkFiles(NodeSpec spec)
    {
        var root = Path.Combine(spec.DataDir, "chunks");
        var tmp = Path.Combine(root, "tmp");
        return !Directory.Exists(root) ? 0 : Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Count(f => Path.GetFileName(f).Length == 64 && !f.StartsWith(tmp, StringComparison.Ordinal));
    }

    /// <summary>A request body that yields <c>length</c> random bytes and then fails, as a client that goes away.
    /// </summary>
    private sealed class CutOffStream(long length) : Stream
    {
        private readonly Random _random = new(11);
        private long _sent;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _sent;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_sent >= length)
            {
                throw new IOException("the client went away");
            }

            var n = (int)Math.Min(count, length - _sent);
            _random.NextBytes(buffer.AsSpan(offset, n));
            _sent += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
