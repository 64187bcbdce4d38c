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
}
