using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// Frames crafted on a raw connection from n1 to n2's transfer server, in a two-node cluster with static membership
/// whose background work (anti-entropy, repair scans) stays quiet: what <see cref="TransferServerTests"/> and
/// <see cref="TransferServerStoreTests"/> send instead of going through the node's client.
/// </summary>
internal static class CraftedExchange
{
    /// <summary>Options under which only what a test sends happens: RF 2, no anti-entropy or repair scan soon.</summary>
    public static readonly KeplerOptions Quiet = new()
    {
        ChunkSizeBytes = KeplerCluster.ChunkSize,
        ReplicationFactor = 2,
        AntiEntropyIntervalMicroseconds = 600 * SimHarness.Second,
        RepairScanIntervalMicroseconds = 3_600 * SimHarness.Second,
        OrphanGraceMicroseconds = 2 * SimHarness.Second,
    };

    /// <summary>Two nodes with static membership.</summary>
    public static KeplerCluster Create(ulong seed, KeplerOptions options) =>
        KeplerCluster.Create(2, seed, options, membership: MembershipMode.Static);

    /// <summary>Runs <paramref name="exchange"/> on a new raw connection from n1 to n2's transfer server.</summary>
    public static T Exchange<T>(KeplerCluster cluster, Func<IStreamConnection, Task<T>> exchange) =>
        Exchange(cluster, (_, connection) => exchange(connection));

    /// <summary>
    /// <see cref="Exchange{T}(KeplerCluster, Func{IStreamConnection, Task{T}})"/> whose exchange may open more
    /// connections to n2 (the first argument).
    /// </summary>
    public static T Exchange<T>(KeplerCluster cluster,
        Func<Func<Task<IStreamConnection>>, IStreamConnection, Task<T>> exchange) =>
        Exchange(cluster, from: 0, to: 1, exchange);

    /// <summary>Runs <paramref name="exchange"/> on new raw connections from node <paramref name="from"/> to node
    /// <paramref name="to"/>'s transfer server (indexes).</summary>
    public static T Exchange<T>(KeplerCluster cluster, int from, int to,
        Func<Func<Task<IStreamConnection>>, IStreamConnection, Task<T>> exchange) =>
        cluster.Sim.Await(cluster.Nodes[from].Spawn(async runtime =>
        {
            Task<IStreamConnection> Connect() => runtime.Streams.ConnectAsync(cluster.Nodes[to].TransferAddress);
            using var connection = await Connect();
            return await exchange(Connect, connection);
        }), $"the crafted exchange with {cluster.Nodes[to].Name}");

    /// <summary>Stores <paramref name="data"/> as chunk <paramref name="id"/> on node <paramref name="to"/> as
    /// node <paramref name="from"/> would (a write's push with <paramref name="requestId"/>, else a repair's).
    /// </summary>
    public static StoreChunkReply Store(KeplerCluster cluster, string id, byte[] data, string? requestId = null,
        int from = 0, int to = 1) =>
        Exchange(cluster, from, to, async (_, connection) =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, data.Length, cluster.Nodes[from].Name, requestId));
            await connection.ReceiveAsync<StoreChunkReady>();
            await connection.SendAsync(new ChunkDataFrame(data));
            return await connection.ReceiveAsync<StoreChunkReply>();
        });
}
