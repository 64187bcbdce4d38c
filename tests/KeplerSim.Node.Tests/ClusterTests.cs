using System.Net;
using System.Security.Cryptography;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

[Trait("Category", "Real")]
public sealed class ClusterTests
{
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_64_MiB_upload_through_one_of_three_reads_back_equal_from_each()
    {
        using var dir = new TempDir();
        var specs = new[] { "n1", "n2", "n3" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var hosts = new List<NodeHost>();
        try
        {
            foreach (var spec in specs)
            {
                hosts.Add(await Nodes.StartInProcessAsync(spec.Environment(specs)));
            }

            var data = Nodes.RandomBytes(64 * 1024 * 1024);
            var expected = SHA256.HashData(data);
            using (var client = Nodes.Client(hosts[0].HttpAddress))
            using (var put = await client.PutAsync("api/files/big/random.bin?durability=quorum",
                       new ByteArrayContent(data)))
            {
                Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
            }

            foreach (var host in hosts)
            {
                using var client = Nodes.Client(host.HttpAddress);
                await using var body = await client.GetStreamAsync("api/files/big/random.bin");
                Assert.Equal(expected, await SHA256.HashDataAsync(body));
            }

            // RF 3 over 3 nodes: every node ends up with all 16 chunks and an empty queue.
            foreach (var host in hosts)
            {
                using var client = Nodes.Client(host.HttpAddress);
                await Wait.WaitUntil(async () => await Nodes.MetricAsync(client, "kepler_chunks_stored") == 16
                    && await Nodes.MetricAsync(client, "kepler_replication_queue_depth") == 0,
                    ConvergeTimeout, $"{host.Config.NodeId} to hold 16 chunks with an empty queue");
                Assert.Equal(0, await Nodes.MetricAsync(client, "kepler_loop_errors_total"));
            }
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// No PEERS: nodes find each other by SWIM through SEEDS (n2 and n3 seed on n1), and once they have,
    /// a write with durability=all lands on all three.
    /// </summary>
    [Fact]
    public async Task Nodes_joined_through_seeds_replicate_to_each_other()
    {
        using var dir = new TempDir();
        var specs = new[] { "n1", "n2", "n3" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var seed = $"127.0.0.1:{specs[0].GossipPort}";
        var hosts = new List<NodeHost>();
        try
        {
            hosts.Add(await Nodes.StartInProcessAsync(specs[0].Environment([])));
            foreach (var spec in specs.Skip(1))
            {
                hosts.Add(await Nodes.StartInProcessAsync(spec.Environment([], ("SEEDS", seed))));
            }

            var data = Nodes.RandomBytes(100_000);
            using var writer = Nodes.Client(hosts[0].HttpAddress);
            await Wait.WaitUntil(async () =>
            {
                // Rewrites are idempotent; repeat until the ring (built from SWIM) spans all three nodes.
                using var put = await writer.PutAsync("api/files/joined.bin?durability=all", new ByteArrayContent(data));
                var counts = new List<long>();
                foreach (var host in hosts)
                {
                    using var client = Nodes.Client(host.HttpAddress);
                    counts.Add(await Nodes.MetricAsync(client, "kepler_chunks_stored"));
                }

                return put.StatusCode == HttpStatusCode.OK && counts.All(c => c == 1);
            }, ConvergeTimeout, "the three nodes to join through SWIM and each hold the chunk");
            foreach (var host in hosts)
            {
                using var client = Nodes.Client(host.HttpAddress);
                Assert.Equal(data, await client.GetByteArrayAsync("api/files/joined.bin"));
            }
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }
}
