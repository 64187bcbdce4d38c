using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>
/// A test double for the KeplerFS node: an ideal, perfectly replicated store shared by every node of a run
/// (kept in the run's <see cref="ProtocolRunState"/>), with 1 ms of virtual latency per operation.
/// </summary>
internal sealed class FakeFileProtocol(NodeRuntime runtime, SortedDictionary<string, byte[]> store)
    : INodeProgram, IFileService
{
    public const string Name = "test-files";

    private const long LatencyMicroseconds = 1_000;

    public static void Register() => ProtocolRegistry.Register(Name,
        context => new FakeFileProtocol(context.Runtime,
            context.Run.GetOrAdd("files", () => new SortedDictionary<string, byte[]>(StringComparer.Ordinal))),
        ProtocolCapabilities.Files);

    public Task StartAsync() => Task.CompletedTask;

    public async Task<FileVersionInfo> PutAsync(string path, Stream content, Durability durability)
    {
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        await runtime.Clock.DelayAsync(LatencyMicroseconds);
        store[path] = copy.ToArray();
        return Info(path);
    }

    public async Task<FileVersionInfo> GetAsync(string path, Stream destination, long offset = 0, long? length = null,
        string? version = null)
    {
        await runtime.Clock.DelayAsync(LatencyMicroseconds);
        var bytes = store.GetValueOrDefault(path) ?? throw new FileNotFoundInClusterException(path);
        await destination.WriteAsync(bytes);
        return Info(path);
    }

    public Task<FileVersionInfo> StatAsync(string path) => Task.FromResult(Info(path));

    public async Task<FileVersionInfo> DeleteAsync(string path, Durability durability)
    {
        await runtime.Clock.DelayAsync(LatencyMicroseconds);
        return store.Remove(path) ? Info(path) : throw new FileNotFoundInClusterException(path);
    }

    public async Task<FileListing> ListAsync(string prefix, string? after = null, int limit = 1000)
    {
        await runtime.Clock.DelayAsync(LatencyMicroseconds);
        var paths = store.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)
            && (after is null || string.CompareOrdinal(k, after) > 0)).Order(StringComparer.Ordinal).ToList();
        var page = paths.Take(limit).Select(Info).ToList();
        return new FileListing(page, paths.Count > limit ? page[^1].Path : null);
    }

    public Task<IReadOnlyList<FileVersionInfo>> VersionsAsync(string path) =>
        Task.FromResult<IReadOnlyList<FileVersionInfo>>([Info(path)]);

    private FileVersionInfo Info(string path) => new(path, store.GetValueOrDefault(path)?.Length ?? 0, "", "",
        runtime.Id.Value, false, true, 0);
}
