using System.Globalization;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Security;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    private const string BootStampMetaKey = "cluster.boot_stamp";
    private SealedDatagramNetwork? _sealedDatagrams;

    /// <summary>
    /// With a cluster key, the node speaks to its peers only through the sealing decorators: the real node and the
    /// simulator both pass their plain networks, and this one place puts the key in front of them.
    /// </summary>
    private NodeRuntime Seal(NodeRuntime runtime, ClusterKeyring? key)
    {
        if (key is null)
        {
            return runtime;
        }

        var random = runtime.Random.Fork("cluster-key");
        _sealedDatagrams = new SealedDatagramNetwork(runtime.Datagrams, key, runtime.Id, runtime.Clock, random, Auth);
        return runtime with
        {
            Datagrams = _sealedDatagrams,
            Streams = new SealedStreamNetwork(runtime.Streams, key, random, Auth),
        };
    }

    /// <summary>
    /// Numbers this incarnation's datagrams after the last one's (persisted), so receivers take it for newer even
    /// when the wall clock stepped back across the restart (the replay rule refuses older incarnations).
    /// </summary>
    private void BeginSealedDatagrams()
    {
        if (_sealedDatagrams is null)
        {
            return;
        }

        var last = Meta.GetMeta(BootStampMetaKey) is { } text
                   && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var stamp)
            ? stamp
            : long.MinValue;
        var now = _sealedDatagrams.Begin(last);
        Meta.SetMeta(BootStampMetaKey, now.ToString(CultureInfo.InvariantCulture));
    }
}
