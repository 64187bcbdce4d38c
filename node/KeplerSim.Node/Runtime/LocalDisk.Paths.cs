namespace KeplerSim.Node.Runtime;

public sealed partial class LocalDisk
{
    /// <summary>The absolute path of a seam path, after checking it cannot escape the data directory.</summary>
    internal string Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path.StartsWith('/') || path.Contains('\\') || path.Contains('\0'))
        {
            throw new ArgumentException($"'{path}' is not a relative '/'-separated path", nameof(path));
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                throw new ArgumentException($"'{path}' has an empty, '.' or '..' segment", nameof(path));
            }
        }

        var full = Path.GetFullPath(Path.Combine(_root, path));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' leaves the data directory", nameof(path));
        }

        return full;
    }
}
