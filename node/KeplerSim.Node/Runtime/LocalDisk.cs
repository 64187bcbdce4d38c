using KeplerSim.Core.Runtime;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// The real disk: files under the data directory. Every operation runs on the thread pool and completes on the
/// loop. Paths are validated (relative, '/'-separated, no '.' or '..', never leaving the data directory). An
/// optional quota (MAX_DISK_MB) makes the disk report full once the files written through it reach the quota,
/// which is how the disk-full path is tested without a tiny file system.
/// </summary>
public sealed partial class LocalDisk : IDisk
{
    private const int EnoSpc = 28;
    private const int EDQuot = 122;

    private readonly EventLoop _loop;
    private readonly string _root;
    private readonly bool _tracked;
    private long _quotaBytes;
    private long _usedBytes;

    /// <summary>Opens the disk rooted at <paramref name="root"/> (created if missing).</summary>
    public LocalDisk(EventLoop loop, string root, long? quotaBytes = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        _loop = loop;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _tracked = quotaBytes is not null;
        _quotaBytes = quotaBytes ?? long.MaxValue;
        Directory.CreateDirectory(_root);
        if (_tracked)
        {
            _usedBytes = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetFileName(f).StartsWith("meta.db", StringComparison.Ordinal))
                .Sum(f => new FileInfo(f).Length);
        }
    }

    /// <summary>The data directory.</summary>
    public string Root => _root;

    /// <summary>Bytes of files written through this disk (tracked only under a quota).</summary>
    public long UsedBytes => Interlocked.Read(ref _usedBytes);

    /// <summary>The quota in force (null: none).</summary>
    public long? QuotaBytes => _tracked ? Interlocked.Read(ref _quotaBytes) : null;

    /// <summary>
    /// Changes the quota of a disk opened with one (test only: KEPLER_TEST_FAULTS opens the disk with an unlimited
    /// quota so that a scenario's <c>disk</c> step can fill it at runtime). Files already written stay.
    /// </summary>
    public void SetQuota(long quotaBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(quotaBytes);
        if (!_tracked)
        {
            throw new InvalidOperationException("the disk was opened without a quota: usage is not tracked");
        }

        Interlocked.Exchange(ref _quotaBytes, quotaBytes);
    }

    /// <inheritdoc />
    public Task<IWritableFile> CreateAsync(string path)
    {
        var full = Resolve(path);
        return _loop.RunIoAsync(() =>
        {
            var old = File.Exists(full) ? new FileInfo(full).Length : 0;
            var stream = Wrap(path, () => new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.Read,
                bufferSize: 0, FileOptions.Asynchronous));
            Account(-old);
            return Task.FromResult<IWritableFile>(new LocalWritableFile(this, path, stream));
        });
    }

    /// <inheritdoc />
    public Task<int> ReadAsync(string path, long offset, Memory<byte> buffer)
    {
        var full = Resolve(path);
        return _loop.RunIoAsync(async () =>
        {
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"{path} does not exist", path);
            }

            using var handle = Wrap(path, () => File.OpenHandle(full, FileMode.Open, FileAccess.Read,
                FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous));
            var total = 0;
            while (total < buffer.Length)
            {
                var read = await WrapAsync(path, () => RandomAccess.ReadAsync(handle, buffer[total..], offset + total)
                    .AsTask()).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            return total;
        });
    }

    /// <inheritdoc />
    public Task<long?> GetLengthAsync(string path)
    {
        var full = Resolve(path);
        return _loop.RunIoAsync(() =>
        {
            var info = new FileInfo(full);
            return Task.FromResult(info.Exists ? info.Length : (long?)null);
        });
    }

    /// <inheritdoc />
    public Task RenameAsync(string source, string target)
    {
        var from = Resolve(source);
        var to = Resolve(target);
        return _loop.RunIoAsync(() =>
        {
            if (!File.Exists(from))
            {
                throw new FileNotFoundException($"{source} does not exist", source);
            }

            var replaced = File.Exists(to) ? new FileInfo(to).Length : 0;
            Wrap(source, () =>
            {
                File.Move(from, to, overwrite: true);
                return true;
            });
            Account(-replaced);
            return Task.CompletedTask;
        });
    }

    /// <inheritdoc />
    public Task DeleteAsync(string path)
    {
        var full = Resolve(path);
        return _loop.RunIoAsync(() =>
        {
            var info = new FileInfo(full);
            if (info.Exists)
            {
                var length = info.Length;
                Wrap(path, () =>
                {
                    File.Delete(full);
                    return true;
                });
                Account(-length);
            }

            return Task.CompletedTask;
        });
    }

    /// <inheritdoc />
    public Task CreateDirectoryAsync(string path)
    {
        var full = Resolve(path);
        return _loop.RunIoAsync(() =>
        {
            Wrap(path, () => Directory.CreateDirectory(full));
            return Task.CompletedTask;
        });
    }

    /// <inheritdoc />
    public Task FsyncDirectoryAsync(string path)
    {
        var full = path.Length == 0 ? _root : Resolve(path);
        return _loop.RunIoAsync(() =>
        {
            Wrap(path, () =>
            {
                Posix.FsyncDirectory(full);
                return true;
            });
            return Task.CompletedTask;
        });
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DiskEntry>> ListAsync(string path)
    {
        var full = path.Length == 0 ? _root : Resolve(path);
        return _loop.RunIoAsync(() =>
        {
            if (!Directory.Exists(full))
            {
                return Task.FromResult<IReadOnlyList<DiskEntry>>([]);
            }

            var entries = new DirectoryInfo(full).EnumerateFileSystemInfos()
                .Select(i => new DiskEntry(i.Name, i is DirectoryInfo))
                .OrderBy(e => e.Name, StringComparer.Ordinal)
                .ToList();
            return Task.FromResult<IReadOnlyList<DiskEntry>>(entries);
        });
    }

    /// <inheritdoc />
    public Task<long> GetFreeBytesAsync() => _loop.RunIoAsync(() =>
    {
        var free = new DriveInfo(_root).AvailableFreeSpace;
        if (QuotaBytes is { } quota)
        {
            free = Math.Min(free, Math.Max(0, quota - Math.Max(0, UsedBytes)));
        }

        return Task.FromResult(free);
    });

    /// <summary>Reserves <paramref name="bytes"/> under the quota or throws <see cref="DiskFullException"/>.</summary>
    internal void Reserve(string path, long bytes)
    {
        if (QuotaBytes is not { } quota)
        {
            return;
        }

        if (Interlocked.Add(ref _usedBytes, bytes) > quota)
        {
            Interlocked.Add(ref _usedBytes, -bytes);
            throw new DiskFullException($"no space left writing {path}: quota of {quota} bytes reached");
        }
    }

    internal void Account(long bytes)
    {
        if (_tracked)
        {
            Interlocked.Add(ref _usedBytes, bytes);
        }
    }

    internal EventLoop Loop => _loop;

    internal static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is EnoSpc or EDQuot;

    private static T Wrap<T>(string path, Func<T> io)
    {
        try
        {
            return io();
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException
            and not DiskFullException and not DiskIOException)
        {
            throw IsDiskFull(e)
                ? new DiskFullException($"no space left on device: {path}")
                : new DiskIOException($"I/O error on {path}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DiskIOException($"access denied on {path}: {e.Message}");
        }
    }

    private static async Task<T> WrapAsync<T>(string path, Func<Task<T>> io)
    {
        try
        {
            return await io().ConfigureAwait(false);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException
            and not DiskFullException and not DiskIOException)
        {
            throw IsDiskFull(e)
                ? new DiskFullException($"no space left on device: {path}")
                : new DiskIOException($"I/O error on {path}: {e.Message}");
        }
    }
}
