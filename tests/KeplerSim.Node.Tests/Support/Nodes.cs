using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Logging;
using KeplerSim.Sim.Real;

namespace KeplerSim.Node.Tests.Support;

/// <summary>Ports and directory of one test node.</summary>
public sealed record NodeSpec(string Id, int HttpPort, int GossipPort, int TransferPort, string DataDir)
{
    public static NodeSpec Create(string id, TempDir dir) =>
        new(id, Ports.Free(), Ports.Free(), Ports.Free(), dir.Sub(id));

    public string PeerEntry => $"{Id}@127.0.0.1:{GossipPort}:{TransferPort}";

    public Uri Url => new($"http://127.0.0.1:{HttpPort}/");

    public Dictionary<string, string?> Environment(IEnumerable<NodeSpec> peers, params (string, string)[] extra)
    {
        var env = new Dictionary<string, string?>
        {
            ["NODE_ID"] = Id,
            ["HTTP_PORT"] = HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GOSSIP_PORT"] = GossipPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["TRANSFER_PORT"] = TransferPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DATA_DIR"] = DataDir,
            ["PEERS"] = string.Join(",", peers.Select(p => p.PeerEntry)),
            ["LOG_LEVEL"] = "warning",
            ["LOG_FORMAT"] = "json",
        };
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }
}

/// <summary>Helpers shared by the tests.</summary>
public static class Nodes
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Starts an in-process node and waits until it is ready.</summary>
    public static async Task<NodeHost> StartInProcessAsync(Dictionary<string, string?> environment)
    {
        var config = NodeConfig.Load(environment);
        var host = await NodeHost.StartAsync(config, LoggingSetup.None);
        await Wait.WaitUntil(() => host.Node.Ready.IsCompleted, StartTimeout, $"node {config.NodeId} to be ready");
        Assert.True(host.Node.Ready.IsCompletedSuccessfully, $"node {config.NodeId} failed to start");
        return host;
    }

    public static HttpClient Client(Uri baseAddress) =>
        new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };

    public static byte[] RandomBytes(int length)
    {
        var data = new byte[length];
        RandomNumberGenerator.Fill(data);
        return data;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    /// <summary>Asserts the response is the JSON error <paramref name="status"/>, <paramref name="code"/>.</summary>
    public static async Task AssertErrorAsync(HttpResponseMessage response, int status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonSerializer.Deserialize<JsonElement>(body);
        Assert.Equal(code, json.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("message").GetString()), "the error has a message");
    }

    /// <summary>The value of an unlabelled Prometheus sample.</summary>
    public static async Task<long> MetricAsync(HttpClient client, string name)
    {
        var text = await client.GetStringAsync("metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"metric {name} missing from /metrics");
        // prometheus-net writes every value as a double ("1E+16" past 15 digits).
        return (long)double.Parse(line![(name.Length + 1)..], System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The kepler-node assembly next to the tests, run with <c>dotnet</c>.</summary>
    public static string NodeDll => Path.Combine(AppContext.BaseDirectory, "kepler-node.dll");

    /// <summary>Starts kepler-node as a real process with exactly <paramref name="environment"/> added.</summary>
    public static Process StartProcess(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        StartProcessIn(null, environment, args);

    /// <summary>As <see cref="StartProcess"/>, in <paramref name="workingDirectory"/> (null: the tests').</summary>
    public static Process StartProcessIn(string? workingDirectory, IReadOnlyDictionary<string, string?> environment,
        params string[] args) => NodeLauncher.Start(NodeDll, environment, args, workingDirectory);
}
