namespace KeplerSim.Core.Runtime;

/// <summary>
/// The node's disk, with POSIX durability semantics: written data is durable only after
/// <see cref="IWritableFile.FsyncAsync"/>; a create, rename or delete is durable only after the parent directory
/// is fsync'd. Paths are relative, '/'-separated, and never contain '.' or '..' segments.
/// </summary>
public interface IDisk
{
    /// <summary>Creates (or truncates) a file for appending. The parent directory must exist.</summary>
    Task<IWritableFile> CreateAsync(string path);

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; 0 at the end.</summary>
    Task<int> ReadAsync(string path, long offset, Memory<byte> buffer);

    /// <summary>The file's length, or null if it does not exist.</summary>
    Task<long?> GetLengthAsync(string path);

    /// <summary>Atomically renames <paramref name="source"/> to <paramref name="target"/>, replacing it.</summary>
    Task RenameAsync(string source, string target);

    /// <summary>Deletes a file; deleting a missing file is not an error.</summary>
    Task DeleteAsync(string path);

    /// <summary>Creates a directory and any missing parents (mkdir -p).</summary>
    Task CreateDirectoryAsync(string path);

    /// <summary>Makes the directory's entries (creates, renames, deletes in it) durable.</summary>
    Task FsyncDirectoryAsync(string path);

    /// <summary>The names of a directory's entries, sorted ordinally; empty if it does not exist.</summary>
    Task<IReadOnlyList<DiskEntry>> ListAsync(string path);

    /// <summary>Free space in bytes.</summary>
    Task<long> GetFreeBytesAsync();
}

/// <summary>A directory entry.</summary>
public readonly record struct DiskEntry(string Name, bool IsDirectory);

/// <summary>A file open for appending.</summary>
public interface IWritableFile : IAsyncDisposable
{
    /// <summary>The file's path.</summary>
    string Path { get; }

    /// <summary>Appends bytes; throws <see cref="DiskFullException"/> (writing nothing) when space runs out.</summary>
    Task AppendAsync(ReadOnlyMemory<byte> data);

    /// <summary>Makes everything appended so far durable.</summary>
    Task FsyncAsync();
}

/// <summary>The disk has no space for the write; nothing of it was written.</summary>
public sealed class DiskFullException(string message) : IOException(message);

/// <summary>The disk reported an I/O error.</summary>
public sealed class DiskIOException(string message) : IOException(message);
