using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>What a protocol offers the scenario runner and the invariant checkers.</summary>
[Flags]
public enum ProtocolCapabilities
{
    /// <summary>Nothing beyond running.</summary>
    None = 0,
    /// <summary>The program implements <see cref="IFileService"/> (put/get/delete/list steps and workloads).</summary>
    Files = 1,
    /// <summary>Chunks live under <c>chunks/</c> and metadata in the KeplerFS schema (chunk invariants
    /// apply).</summary>
    Chunks = 2,
    /// <summary>The protocol has its own membership (membership invariants apply).</summary>
    Membership = 4,
}

/// <summary>State shared by every node of one run (for example a test protocol's store).</summary>
public sealed class ProtocolRunState
{
    private readonly SortedDictionary<string, object> _items = new(StringComparer.Ordinal);

    /// <summary>The item under <paramref name="key"/>, created by <paramref name="create"/> on first use.</summary>
    public T GetOrAdd<T>(string key, Func<T> create)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(create);
        if (!_items.TryGetValue(key, out var item))
        {
            item = create();
            _items[key] = item;
        }

        return (T)item;
    }
}

/// <summary>What a protocol factory gets for one node incarnation.</summary>
/// <param name="Runtime">The node's runtime seam.</param>
/// <param name="Cluster">The scenario's cluster section.</param>
/// <param name="NodeIds">Every node of the scenario, in file order.</param>
/// <param name="InitialMembers">The nodes started at time 0.</param>
/// <param name="Options">The KeplerFS options the cluster section describes.</param>
/// <param name="Run">State shared by every node of this run.</param>
public sealed record ProtocolContext(
    NodeRuntime Runtime,
    ClusterSpec Cluster,
    IReadOnlyList<NodeId> NodeIds,
    IReadOnlyList<NodeId> InitialMembers,
    KeplerOptions Options,
    ProtocolRunState Run);

/// <summary>A registered protocol.</summary>
/// <param name="Name">The name scenario files use in <c>cluster.protocol</c>.</param>
/// <param name="Factory">Creates the program of one node incarnation.</param>
/// <param name="Capabilities">What the protocol offers.</param>
/// <remarks>
/// The harness observes and injects faults; it never tells a node who its members are. A protocol learns its
/// membership itself (KeplerFS: SWIM through seeds, or a static list given at start).
/// </remarks>
public sealed record ProtocolRegistration(
    string Name,
    Func<ProtocolContext, INodeProgram> Factory,
    ProtocolCapabilities Capabilities)
{
    /// <summary>The member set a running node currently places data over (null: not known yet); checked by
    /// <c>membership_converged</c> when the protocol has <see cref="ProtocolCapabilities.Membership"/>.</summary>
    public Func<SimNode, IReadOnlyList<string>?>? MembershipView { get; init; }
}

/// <summary>
/// The protocols scenario files can name. <c>ping</c> is built in; <c>keplerfs</c> is registered by
/// <c>KeplerFsProtocol.cs</c>, which implements the partial method <see cref="RegisterKeplerFs"/>; tests may
/// register their own under other names. Thread-safe (swarm runs seeds in parallel).
/// </summary>
public static partial class ProtocolRegistry
{
    /// <summary>The name of the KeplerFS protocol.</summary>
    public const string KeplerFs = "keplerfs";

    /// <summary>The name of the demo protocol.</summary>
    public const string Ping = "ping";

    private static readonly Lock Gate = new();
    private static readonly SortedDictionary<string, ProtocolRegistration> Registered = Initial();

    /// <summary>Registers (or replaces) a protocol.</summary>
    public static void Register(ProtocolRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        lock (Gate)
        {
            Registered[registration.Name] = registration;
        }
    }

    /// <summary>Registers a protocol from its name and factory.</summary>
    public static void Register(string name, Func<ProtocolContext, INodeProgram> factory,
        ProtocolCapabilities capabilities = ProtocolCapabilities.None) =>
        Register(new ProtocolRegistration(name, factory, capabilities));

    /// <summary>The registration called <paramref name="name"/>, or null.</summary>
    public static ProtocolRegistration? Find(string name)
    {
        lock (Gate)
        {
            return Registered.GetValueOrDefault(name);
        }
    }

    /// <summary>Names a scenario file may use: every registered protocol and <c>keplerfs</c>.</summary>
    public static IReadOnlyList<string> KnownNames()
    {
        lock (Gate)
        {
            return Registered.Keys.Append(KeplerFs).Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>What a protocol offers, assuming KeplerFS offers files and chunks before it is registered.</summary>
    public static ProtocolCapabilities CapabilitiesOf(string name) => Find(name)?.Capabilities
        ?? (name == KeplerFs ? KeplerFsCapabilities : ProtocolCapabilities.None);

    private static SortedDictionary<string, ProtocolRegistration> Initial()
    {
        var map = new SortedDictionary<string, ProtocolRegistration>(StringComparer.Ordinal)
        {
            [Ping] = new(Ping, CreatePing, ProtocolCapabilities.None),
        };
        var keplerFs = (ProtocolRegistration?)null;
        RegisterKeplerFs(ref keplerFs);
        if (keplerFs is not null)
        {
            map[keplerFs.Name] = keplerFs;
        }

        return map;
    }

    /// <summary>
    /// Implemented in <c>KeplerFsProtocol.cs</c>: sets <paramref name="registration"/> to the KeplerFS protocol.
    /// Without an implementation, <c>keplerfs</c> scenarios pass <c>check</c> but <c>run</c> says the protocol
    /// is not available yet.
    /// </summary>
    static partial void RegisterKeplerFs(ref ProtocolRegistration? registration);

    private static INodeProgram CreatePing(ProtocolContext context)
    {
        var ping = context.Cluster.Ping;
        return new Core.Demo.PingProtocol(context.Runtime, context.NodeIds, new Core.Demo.PingOptions
        {
            PingIntervalMicroseconds = ping.Interval.Microseconds,
            TransferIntervalMicroseconds = ping.TransferInterval.Microseconds,
            TransferBytes = (int)ping.TransferSize.Bytes,
            UseDiskAndStreams = ping.DiskAndStreams,
        });
    }
}
