using KeplerSim.Core;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Kernel;

/// <summary>
/// A simulated disk with a page-cache model. File data is append-only per inode, so what is durable is always a
/// prefix: <c>DurableLength</c> moves up on fsync. Directory entries have a volatile and a durable view; the
/// durable view catches up on a directory fsync. A crash keeps, loses or tears each unsynced tail, and keeps or
/// reverts each directory's unsynced entries. Operations take seeded latency and can fail as configured.
/// </summary>
public sealed class SimDisk : IDisk
{
    private readonly Simulation _sim;
    private readonly SimNode _node;
    private readonly Dir _root = new();

    internal SimDisk(Simulation sim, SimNode node, DiskFaults faults)
    {
        _sim = sim;
        _node = node;
        Faults = faults;
    }

    /// <summary>The disk's fault model; scenario steps may change it (fill the disk, slow it down).</summary>
    public DiskFaults Faults { get; set; }

    /// <summary>Bytes stored (volatile view).</summary>
    public long UsedBytes { get; private set; }

    /// <summary>Bytes returned by reads so far (for tests of what reads what).</summary>
    public long BytesRead { get; private set; }

    /// <summary>
    /// Moves up whenever a file's content or a name changes (create, append, rename, delete, corruption, crash):
    /// checkers that saw one generation need not look again while it stays (<see cref="StampOf"/> per file).
    /// </summary>
    public long Generation { get; private set; }

    /// <summary>Most path changes <see cref="ChangedSince"/> remembers; when the log is full its older half is
    /// forgotten (a checker that last looked before them walks the disk again).</summary>
    public const int ChangeLogMax = 4096;

    // The paths whose file changed (content or name), with the generation each change made; oldest first. Changes
    // at or before _changesFrom are not all in it.
    private readonly List<(long Generation, string Path)> _changes = [];
    private long _changesFrom;

    /// <summary>
    /// The paths (volatile view; repeats possible) whose file was created, written, renamed from or to, deleted or
    /// corrupted after <paramref name="generation"/>; null when the log no longer reaches back that far (a crash
    /// reset it, or it overflowed): then walk the disk. So a checker costs what changed, not what the disk holds.
    /// </summary>
    public IReadOnlyList<string>? ChangedSince(long generation)
    {
        if (generation < _changesFrom || generation > Generation)
        {
            return null;
        }

        var (low, high) = (0, _changes.Count);
        while (low < high)
        {
            var middle = (low + high) / 2;
            (low, high) = _changes[middle].Generation > generation ? (low, middle) : (middle + 1, high);
        }

        var paths = new List<string>(_changes.Count - low);
        for (var i = low; i < _changes.Count; i++)
        {
            paths.Add(_changes[i].Path);
        }

        return paths;
    }

    // ---- IDisk ----------------------------------------------------------------------------------------------

    /// <inheritdoc />
    public Task<IWritableFile> CreateAsync(string path) =>
        Operation<IWritableFile>("create", RequireSeamPath(path), () =>
    {
        var (dir, name) = ParentOf(path, mustExist: true);
        FailWriteByChance("creating", path);
        if (dir!.Entries.GetValueOrDefault(name) is Dir)
        {
            throw new IOException($"{path} is a directory");
        }

        if (dir.Entries.GetValueOrDefault(name) is FileNode old)
        {
            UsedBytes -= old.Length;
        }

        if (dir.Entries.GetValueOrDefault(name) is FileNode replaced)
        {
            replaced.Name = null;
        }

        var file = new FileNode { Stamp = ++Generation, Name = path };
        dir.Entries[name] = file;
        dir.Dirty = true;
        Changed(path);
        return new WritableFile(this, path, file);
    });

    /// <inheritdoc />
    public Task<int> ReadAsync(string path, long offset, Memory<byte> buffer) =>
        Operation("read", RequireSeamPath(path), () =>
    {
        if (_sim.Random.Chance(Faults.ReadErrorProbability))
        {
            throw new DiskIOException($"I/O error reading {path}");
        }

        var file = FindFile(path) ?? throw new FileNotFoundException($"{path} does not exist", path);
        if (offset >= file.Length)
        {
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, file.Length - offset);
        file.Data.AsSpan((int)offset, count).CopyTo(buffer.Span);
        BytesRead += count;
        return count;
    });

    /// <inheritdoc />
    public Task<long?> GetLengthAsync(string path) =>
        Operation("stat", RequireSeamPath(path), () => FindFile(path)?.Length);

    /// <inheritdoc />
    public Task RenameAsync(string source, string target) => Operation("rename",
        RequireSeamPath(source) + " " + RequireSeamPath(target), () =>
    {
        var (fromDir, fromName) = ParentOf(source, mustExist: true);
        var (toDir, toName) = ParentOf(target, mustExist: true);
        if (fromDir!.Entries.GetValueOrDefault(fromName) is not FileNode file)
        {
            throw new FileNotFoundException($"{source} does not exist", source);
        }

        if (toDir!.Entries.GetValueOrDefault(toName) is FileNode replaced && !ReferenceEquals(replaced, file))
        {
            UsedBytes -= replaced.Length;
            replaced.Name = null;
        }

        fromDir.Entries.Remove(fromName);
        toDir.Entries[toName] = file;
        file.Name = target;
        Generation++;
        Changed(source);
        Changed(target);
        fromDir.Dirty = true;
        toDir.Dirty = true;
        return true;
    });

    /// <inheritdoc />
    public Task DeleteAsync(string path) => Operation("delete", RequireSeamPath(path), () =>
    {
        var (dir, name) = ParentOf(path, mustExist: false);
        if (dir?.Entries.GetValueOrDefault(name) is FileNode file)
        {
            dir.Entries.Remove(name);
            dir.Dirty = true;
            UsedBytes -= file.Length;
            file.Name = null;
            Generation++;
            Changed(path);
        }

        return true;
    });

    /// <inheritdoc />
    public Task CreateDirectoryAsync(string path) => Operation("mkdir", path, () =>
    {
        var dir = _root;
        foreach (var part in Split(path))
        {
            switch (dir.Entries.GetValueOrDefault(part))
            {
                case Dir child:
                    dir = child;
                    break;
                case FileNode:
                    throw new IOException($"{path}: '{part}' is a file");
                default:
                    var created = new Dir();
                    dir.Entries[part] = created;
                    dir.Dirty = true;
                    dir = created;
                    break;
            }
        }

        return true;
    });

    /// <inheritdoc />
    public Task FsyncDirectoryAsync(string path) => Operation("fsyncdir", path, () =>
    {
        var dir = FindDir(path) ?? throw new DirectoryNotFoundException($"{path} does not exist");
        dir.Durable = new SortedDictionary<string, Node>(dir.Entries, StringComparer.Ordinal);
        dir.Dirty = false;
        foreach (var (name, node) in dir.Entries)
        {
            if (node is FileNode file)
            {
                // This name is now the file's durable home (a rename into this directory is committed).
                file.DurableDir = dir;
                file.DurableName = name;
            }
        }
        return true;
    }, slow: 10);

    /// <inheritdoc />
    public Task<IReadOnlyList<DiskEntry>> ListAsync(string path) => Operation<IReadOnlyList<DiskEntry>>("list", path,
        () => FindDir(path) is { } dir
            ? dir.Entries.Select(e => new DiskEntry(e.Key, e.Value is Dir)).ToList()
            : []);

    /// <inheritdoc />
    public Task<long> GetFreeBytesAsync() => Operation("df", "", () => Math.Max(0, Faults.CapacityBytes - UsedBytes));

    // ---- Fault injection and inspection (not part of the seam) ---------------------------------------------

    /// <summary>Flips one seeded-random bit of the file at rest; false if it is missing or empty.</summary>
    public bool Corrupt(string path)
    {
        var file = FindFile(RequireSeamPath(path));
        if (file is null || file.Length == 0)
        {
            return false;
        }

        var bit = _sim.Random.NextLong(0, file.Length * 8);
        file.Data[bit / 8] ^= (byte)(1 << (int)(bit % 8));
        file.Stamp = ++Generation;
        Changed(path);
        _sim.Trace.Record(_sim.Now, _node.Name, TraceKind.Corruption, path, bit);
        return true;
    }

    /// <summary>The file's current bytes (volatile view), or null; for checkers and tests.</summary>
    public byte[]? Peek(string path) =>
        FindFile(RequireSeamPath(path)) is { } file ? file.Data.AsSpan(0, (int)file.Length).ToArray() : null;

    /// <summary>
    /// The generation at which the file's content last changed (volatile view), or null if there is no file:
    /// while it stays, the bytes <see cref="Peek"/> would return are the same.
    /// </summary>
    public long? StampOf(string path) => FindFile(RequireSeamPath(path))?.Stamp;

    /// <summary>Whether a file exists at <paramref name="path"/> (volatile view), without copying it.</summary>
    public bool Exists(string path) => FindFile(RequireSeamPath(path)) is not null;

    /// <summary>Whether <paramref name="path"/> would survive a crash right now with all its bytes.</summary>
    public bool IsDurable(string path)
    {
        var dir = _root;
        var parts = Split(path);
        for (var i = 0; i < parts.Length; i++)
        {
            if (dir.Durable.GetValueOrDefault(parts[i]) is not { } node
                || !ReferenceEquals(node, dir.Entries.GetValueOrDefault(parts[i])))
            {
                return false;
            }

            if (i == parts.Length - 1)
            {
                return node is FileNode file && file.DurableLength == file.Length;
            }

            if (node is not Dir child)
            {
                return false;
            }

            dir = child;
        }

        return false;
    }

    /// <summary>Every file path on the disk (volatile view), sorted.</summary>
    public IReadOnlyList<string> AllFiles()
    {
        var result = new List<string>();
        Walk(_root, "", result);
        return result;
    }

    internal void Crash(IRandom random)
    {
        var names = new List<(Dir Dir, string Name, FileNode File)>();
        CrashDir(_root, random, names);
        KeepOneNamePerFile(names);
        var used = 0L;
        var seen = new HashSet<FileNode>(ReferenceEqualityComparer.Instance);
        foreach (var (_, _, file) in names)
        {
            if (seen.Add(file))
            {
                file.Stamp = ++Generation;
                CrashFile(file, random);
                used += file.Length;
            }
        }

        UsedBytes = used;
        Generation++;
        NameFiles(_root, "");
        _changes.Clear(); // Names reverted all over: whoever looks next walks the disk.
        _changesFrom = Generation;
    }

    /// <summary>Sets every file's <see cref="FileNode.Name"/> to its path (after a crash moved names).</summary>
    private static void NameFiles(Dir dir, string prefix)
    {
        foreach (var (name, node) in dir.Entries)
        {
            var path = prefix.Length == 0 ? name : prefix + "/" + name;
            if (node is Dir child)
            {
                NameFiles(child, path);
            }
            else if (node is FileNode file)
            {
                file.Name = path;
            }
        }
    }

    private void Changed(string path)
    {
        if (_changes.Count >= ChangeLogMax)
        {
            var half = ChangeLogMax / 2;
            _changesFrom = _changes[half - 1].Generation;
            _changes.RemoveRange(0, half);
        }

        _changes.Add((Generation, path));
    }

    private void CrashDir(Dir dir, IRandom random, List<(Dir Dir, string Name, FileNode File)> names)
    {
        if (dir.Dirty && !random.Chance(Faults.CrashKeepDirectoryProbability))
        {
            dir.Entries = new SortedDictionary<string, Node>(dir.Durable, StringComparer.Ordinal);
        }

        dir.Durable = new SortedDictionary<string, Node>(dir.Entries, StringComparer.Ordinal);
        dir.Dirty = false;
        foreach (var (name, node) in dir.Entries)
        {
            if (node is Dir child)
            {
                CrashDir(child, random, names);
            }
            else if (node is FileNode file)
            {
                names.Add((dir, name, file));
            }
        }
    }

    /// <summary>
    /// A rename across directories is atomic on a journaling file system: after a crash the file has its old
    /// name or its new one, never both. Where directories reverted independently left two names for one file,
    /// keep its durable home (the last fsync'd directory that named it), else the first name in tree order.
    /// </summary>
    private static void KeepOneNamePerFile(List<(Dir Dir, string Name, FileNode File)> names)
    {
        var keep = new Dictionary<FileNode, (Dir Dir, string Name)>(ReferenceEqualityComparer.Instance);
        foreach (var (dir, name, file) in names)
        {
            var isHome = ReferenceEquals(file.DurableDir, dir) && file.DurableName == name;
            if (!keep.ContainsKey(file) || isHome)
            {
                keep[file] = (dir, name);
            }
        }

        names.RemoveAll(entry =>
        {
            var kept = keep[entry.File];
            if (ReferenceEquals(kept.Dir, entry.Dir) && kept.Name == entry.Name)
            {
                return false;
            }

            entry.Dir.Entries.Remove(entry.Name);
            entry.Dir.Durable.Remove(entry.Name);
            return true;
        });
        foreach (var (dir, name, file) in names)
        {
            file.DurableDir = dir;
            file.DurableName = name;
        }
    }

    private void CrashFile(FileNode file, IRandom random)
    {
        var unsynced = file.Length - file.DurableLength;
        if (unsynced > 0)
        {
            var roll = random.NextDouble();
            if (roll < Faults.CrashTornProbability)
            {
                file.Length = file.DurableLength + random.NextLong(0, unsynced);
            }
            else if (roll >= Faults.CrashTornProbability + Faults.CrashKeepProbability)
            {
                file.Length = file.DurableLength;
            }
        }

        file.DurableLength = file.Length;
    }

    private static void Walk(Dir dir, string prefix, List<string> result)
    {
        foreach (var (name, node) in dir.Entries)
        {
            var path = prefix.Length == 0 ? name : prefix + "/" + name;
            if (node is Dir child)
            {
                Walk(child, path, result);
            }
            else
            {
                result.Add(path);
            }
        }
    }

    // ---- Internals -----------------------------------------------------------------------------------------

    private Task<T> Operation<T>(string kind, string path, Func<T> apply, int slow = 1)
    {
        _sim.AssertRunning(_node);
        var latency = _sim.Random.NextLong(Faults.LatencyMinMicroseconds, Faults.LatencyMaxMicroseconds + 1) * slow;
        if (_sim.Random.Chance(Faults.SlowProbability))
        {
            latency *= Faults.SlowFactor;
        }

        var source = new TaskCompletionSource<T>();
        // The operation takes effect when it completes: a crash before then means it never happened.
        _sim.Enqueue(_sim.Now + latency, _node, _node.Epoch, () =>
        {
            try
            {
                var value = apply();
                _sim.Trace.Record(_sim.Now, _node.Name, TraceKind.Disk, kind + " " + path);
                source.TrySetResult(value);
            }
            catch (IOException e)
            {
                _sim.Trace.Record(_sim.Now, _node.Name, TraceKind.DiskFault, kind + " " + path + " " + e.GetType().Name);
                source.TrySetException(e);
            }
        });
        return source.Task;
    }

    /// <summary>
    /// A file's path as the real disk takes it (LocalDisk.Resolve): not empty, no empty, "." or ".." segment. The
    /// empty path is this disk's root: a file created at "" existed here and failed on a node (the Stryker survivor
    /// ChunkStore.AtRest.cs:81, a key-check file at "", passed every simulated test). Checked once, when the call is
    /// made, as LocalDisk does (not in the operation's event, where a throw fails the simulation); the inspection
    /// methods check it too. Directory operations still take "" for the root, which the kernel's own tests fsync;
    /// the real disk refuses that too, and no core code names the root.
    /// </summary>
    private static string RequireSeamPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new ArgumentException("'' is not a relative '/'-separated path", nameof(path));
        }

        Split(path);
        return path;
    }

    private static string[] Split(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return [];
        }

        var parts = path.Split('/');
        foreach (var part in parts)
        {
            if (part.Length == 0 || part == "." || part == "..")
            {
                throw new ArgumentException($"invalid disk path '{path}'", nameof(path));
            }
        }

        return parts;
    }

    private Dir? FindDir(string path)
    {
        var dir = _root;
        foreach (var part in Split(path))
        {
            if (dir.Entries.GetValueOrDefault(part) is not Dir child)
            {
                return null;
            }

            dir = child;
        }

        return dir;
    }

    private FileNode? FindFile(string path)
    {
        var (dir, name) = ParentOf(path, mustExist: false);
        return dir?.Entries.GetValueOrDefault(name) as FileNode;
    }

    private (Dir? Dir, string Name) ParentOf(string path, bool mustExist)
    {
        var slash = path.LastIndexOf('/');
        var parent = slash < 0 ? "" : path[..slash];
        var name = path[(slash + 1)..];
        var dir = FindDir(parent);
        if (dir is null && mustExist)
        {
            throw new DirectoryNotFoundException($"directory of {path} does not exist");
        }

        return (dir, name);
    }

    /// <summary>An injected I/O error (<see cref="DiskFaults.WriteErrorProbability"/>) before anything changes.
    /// </summary>
    private void FailWriteByChance(string doing, string path)
    {
        if (_sim.Random.Chance(Faults.WriteErrorProbability))
        {
            throw new DiskIOException($"I/O error {doing} {path}");
        }
    }

    private void Append(string path, FileNode file, ReadOnlySpan<byte> data)
    {
        FailWriteByChance("writing", path);
        if (UsedBytes + data.Length > Faults.CapacityBytes)
        {
            throw new DiskFullException($"no space left on device writing {path}");
        }

        file.Append(data);
        file.Stamp = ++Generation;
        if (file.Name is { } name)
        {
            Changed(name); // Its current name: the file may have been renamed since it was opened.
        }

        UsedBytes += data.Length;
        if (data.Length > 0 && _sim.Random.Chance(Faults.WriteCorruptionProbability))
        {
            var bit = _sim.Random.NextLong(0, data.Length * 8L);
            var at = file.Length - data.Length + bit / 8;
            file.Data[at] ^= (byte)(1 << (int)(bit % 8));
            _sim.Trace.Record(_sim.Now, _node.Name, TraceKind.Corruption, path, at);
        }
    }

    private abstract class Node;

    private sealed class Dir : Node
    {
        public SortedDictionary<string, Node> Entries { get; set; } = new(StringComparer.Ordinal);

        public SortedDictionary<string, Node> Durable { get; set; } = new(StringComparer.Ordinal);

        public bool Dirty { get; set; }
    }

    private sealed class FileNode : Node
    {
        public byte[] Data { get; private set; } = [];

        public long Length { get; set; }

        public long DurableLength { get; set; }

        public long Stamp { get; set; }

        public Dir? DurableDir { get; set; }

        public string? DurableName { get; set; }

        /// <summary>Its path in the volatile view; null once deleted or replaced.</summary>
        public string? Name { get; set; }

        public void Append(ReadOnlySpan<byte> data)
        {
            var needed = Length + data.Length;
            if (needed > Data.Length)
            {
                var grown = new byte[Math.Max(needed, Math.Max(256, Data.Length * 2L))];
                Data.AsSpan(0, (int)Length).CopyTo(grown);
                Data = grown;
            }

            data.CopyTo(Data.AsSpan((int)Length));
            Length = needed;
        }
    }

    private sealed class WritableFile(SimDisk disk, string path, FileNode file) : IWritableFile
    {
        private bool _closed;

        public string Path => path;

        public Task AppendAsync(ReadOnlyMemory<byte> data)
        {
            Invariant.That(!_closed, $"append to closed file {path}");
            var copy = data.ToArray();
            return disk.Operation("append", path, () =>
            {
                disk.Append(path, file, copy);
                return true;
            });
        }

        public Task FsyncAsync() => disk.Operation("fsync", path, () =>
        {
            disk.FailWriteByChance("fsyncing", path);
            file.DurableLength = file.Length;
            return true;
        }, slow: 10);

        public ValueTask DisposeAsync()
        {
            _closed = true;
            return ValueTask.CompletedTask;
        }
    }
}
