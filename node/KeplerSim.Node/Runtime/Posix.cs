using System.Runtime.InteropServices;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// The few libc calls .NET does not offer: .NET cannot open a directory as a file handle, so a directory fsync
/// (needed to make a create or rename durable) goes through <c>open(O_RDONLY|O_DIRECTORY)</c> and <c>fsync</c>.
/// </summary>
internal static partial class Posix
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000; // O_DIRECTORY on Linux x86-64 and arm64
    private const int CloseOnExec = 0x80000;

    /// <summary>fsyncs a directory; a no-op where the platform is not Linux.</summary>
    public static void FsyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(path, ReadOnly | Directory | CloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"open({path}) for fsync failed: errno {errno}", errno);
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync({path}) failed: errno {errno}", errno);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
