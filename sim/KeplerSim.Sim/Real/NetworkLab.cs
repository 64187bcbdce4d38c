using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace KeplerSim.Sim.Real;

/// <summary>
/// A network of Linux network namespaces for one real-mode run: one namespace per node, each with a veth link
/// into one bridge in the host's namespace (which the driver reaches the nodes through). Every name starts with
/// the run's unique prefix (<c>ks</c> + 6 hex digits) so a leftover of a killed run can be found and removed
/// (<see cref="RemoveLeftovers"/>). Partitions are blackhole routes inside the namespaces (cutting a direction is
/// one route; no nftables/iptables needed); link faults are <c>tc netem</c> where the kernel has it.
/// </summary>
public sealed class NetworkLab : IDisposable
{
    /// <summary>Every name this class creates starts with this.</summary>
    public const string NamePrefix = "ks";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private readonly List<string> _namespaces = [];
    private readonly List<string> _links = [];
    private readonly List<(string Netns, string Address)> _blackholes = [];
    private readonly SortedSet<string> _netemDevices = new(StringComparer.Ordinal);
    private readonly int _subnet;
    private bool _bridgeUp;

    private NetworkLab(string prefix, int subnet)
    {
        Prefix = prefix;
        _subnet = subnet;
    }

    /// <summary>The run's prefix (<c>ks</c> + 6 hex digits).</summary>
    public string Prefix { get; }

    /// <summary>The bridge's name.</summary>
    public string Bridge => Prefix + "br";

    /// <summary>Why netem cannot shape links here (null: it can), known after the first node's link exists.</summary>
    public string? NetemUnavailable { get; private set; }

    /// <summary>
    /// Creates the bridge of a new lab; null with <paramref name="why"/> when namespaces cannot be used here (not
    /// root, no <c>ip</c>, or the kernel refuses).
    /// </summary>
    public static NetworkLab? TryCreate(out string? why)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            why = "network namespaces need root on Linux";
            return null;
        }

        var bytes = RandomNumberGenerator.GetBytes(3);
        NetworkLab? lab = null;
        try
        {
            // One subnet per lab: two labs on one /24 (concurrent runs, the tests' parallel real-mode runs) would
            // reach each other's nodes (a put answered by another run's node, a restarted node's address refused).
            lock (SubnetGate)
            {
                lab = new NetworkLab(NamePrefix + Convert.ToHexStringLower(bytes), FreeSubnet(bytes[0]));
                lab.Ip("link", "add", lab.Bridge, "type", "bridge");
                lab._bridgeUp = true;
                lab.Ip("addr", "add", lab.HostAddress + "/24", "dev", lab.Bridge);
            }

            lab.Ip("link", "set", lab.Bridge, "up");
            why = null;
            return lab;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            lab?.Dispose();
            why = "could not create a bridge: " + e.Message;
            return null;
        }
    }

    private static readonly Lock SubnetGate = new();

    /// <summary>A 10.213.X.0/24 no address of this host is in (from <paramref name="start"/> on); labs of other
    /// processes created in the same instant can still collide, rarely.</summary>
    private static int FreeSubnet(int start)
    {
        var used = Output("ip", "-4", "-o", "addr", "show")
            .Select(line => System.Text.RegularExpressions.Regex.Match(line, @"inet 10\.213\.(\d+)\."))
            .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .ToHashSet();
        for (var i = 0; i < 250; i++)
        {
            var subnet = 1 + (start + i) % 250;
            if (!used.Contains(subnet))
            {
                return subnet;
            }
        }

        throw new InvalidOperationException("every 10.213.X.0/24 is in use on this host");
    }

    /// <summary>The host's address on the bridge.</summary>
    public string HostAddress => Address(1);

    /// <summary>The address of the node at <paramref name="index"/> (0-based).</summary>
    public string NodeAddress(int index) => Address(10 + index);

    private string Address(int host) => string.Create(CultureInfo.InvariantCulture, $"10.213.{_subnet}.{host}");

    /// <summary>The namespace of the node at <paramref name="index"/>.</summary>
    public string NamespaceOf(int index) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}n{index + 1}");

    /// <summary>Creates the namespace of node <paramref name="index"/> with its link into the bridge.</summary>
    public void AddNode(int index)
    {
        var netns = NamespaceOf(index);
        var veth = string.Create(CultureInfo.InvariantCulture, $"{Prefix}v{index + 1}");
        Ip("netns", "add", netns);
        _namespaces.Add(netns);
        Ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns);
        _links.Add(veth);
        Ip("link", "set", veth, "master", Bridge, "up");
        Ip("-n", netns, "addr", "add", NodeAddress(index) + "/24", "dev", "eth0");
        Ip("-n", netns, "link", "set", "eth0", "up");
        Ip("-n", netns, "link", "set", "lo", "up");
        if (index == 0)
        {
            NetemUnavailable = Run("ip", "netns", "exec", netns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                "delay", "1ms") is { } error ? "tc netem is not available here (" + error + ")" : null;
            _ = Run("ip", "netns", "exec", netns, "tc", "qdisc", "del", "dev", "lo", "root");
        }
    }

    /// <summary>Cuts traffic from <paramref name="from"/> to <paramref name="to"/> (node indexes).</summary>
    public void Cut(int from, int to)
    {
        var entry = (NamespaceOf(from), NodeAddress(to));
        if (!_blackholes.Contains(entry))
        {
            Ip("-n", entry.Item1, "route", "add", "blackhole", entry.Item2 + "/32");
            _blackholes.Add(entry);
        }
    }

    /// <summary>Removes every cut.</summary>
    public void Heal()
    {
        foreach (var (netns, address) in _blackholes)
        {
            Ip("-n", netns, "route", "del", "blackhole", address + "/32");
        }

        _blackholes.Clear();
    }

    /// <summary>Whether a cut is in force.</summary>
    public bool Partitioned => _blackholes.Count > 0;

    /// <summary>
    /// Shapes what node <paramref name="index"/> sends with netem (<paramref name="netem"/>: its arguments, e.g.
    /// <c>delay 5ms loss 1%</c>); null arguments remove the shaping.
    /// </summary>
    public void Shape(int index, IReadOnlyList<string>? netem)
    {
        var netns = NamespaceOf(index);
        if (_netemDevices.Remove(netns))
        {
            _ = Run("ip", "netns", "exec", netns, "tc", "qdisc", "del", "dev", "eth0", "root");
        }

        if (netem is { Count: > 0 })
        {
            var error = Run(["ip", "netns", "exec", netns, "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                .. netem]);
            if (error is not null)
            {
                throw new InvalidOperationException("tc netem: " + error);
            }

            _netemDevices.Add(netns);
        }
    }

    /// <summary>Removes every namespace, link and the bridge this lab created.</summary>
    public void Dispose()
    {
        // Deleting one end of a veth pair deletes both; a namespace's end alone may outlive the namespace's name
        // while the kernel still holds the namespace (sockets closing).
        foreach (var link in _links)
        {
            _ = Run("ip", "link", "del", link);
        }

        _links.Clear();
        foreach (var netns in _namespaces)
        {
            _ = Run("ip", "netns", "del", netns);
        }

        _namespaces.Clear();
        if (_bridgeUp)
        {
            _ = Run("ip", "link", "del", Bridge);
            _bridgeUp = false;
        }
    }

    /// <summary>
    /// Removes every namespace and link whose name starts with <paramref name="prefix"/> (a <c>ks…</c> run prefix,
    /// or <c>ks</c> for all); returns what it removed.
    /// </summary>
    public static IReadOnlyList<string> RemoveLeftovers(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var removed = new List<string>();
        foreach (var netns in Output("ip", "netns", "list").Select(l => l.Split(' ')[0])
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            _ = Run("ip", "netns", "del", netns);
            removed.Add("netns " + netns);
        }

        foreach (var link in Output("ip", "-o", "link", "show").Select(l => l.Split(':'))
            .Where(p => p.Length > 2).Select(p => p[1].Trim().Split('@')[0])
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            _ = Run("ip", "link", "del", link);
            removed.Add("link " + link);
        }

        return removed;
    }

    private void Ip(params string[] args)
    {
        if (Run(["ip", .. args]) is { } error)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {error}");
        }
    }

    /// <summary>Runs a command (bounded); null on success, else its error text.</summary>
    private static string? Run(params string[] command)
    {
        var (code, _, error) = Execute(command);
        return code == 0 ? null : error.Trim() is { Length: > 0 } text ? text : $"exit code {code}";
    }

    private static IEnumerable<string> Output(params string[] command)
    {
        var (code, output, _) = Execute(command);
        return code == 0 ? output.Split('\n', StringSplitOptions.RemoveEmptyEntries) : [];
    }

    private static (int Code, string Output, string Error) Execute(string[] command)
    {
        var info = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in command.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not run {command[0]}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill();
            return (-1, "", $"{command[0]} did not finish within {CommandTimeout.TotalSeconds} s");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
