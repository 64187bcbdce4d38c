using System.Text;

namespace KeplerSim.Core.Storage;

public sealed partial class ChunkStore
{
    /// <summary>
    /// Where the store records which at-rest key its chunks are sealed under: the key's
    /// <see cref="AtRestKey.CheckValue"/> in hex. Written once, when a key is first used on the store.
    /// </summary>
    public const string KeyCheckPath = RootDirectory + "/keycheck";

    // "v1 " + 64 hex characters + newline.
    private const int KeyCheckSizeBytes = 68;
    private const string KeyCheckVersion = "v1 ";

    /// <summary>
    /// Checks the configured at-rest key against the one the store was sealed under, before recovery touches
    /// anything: another key, or none where the store has one, throws <see cref="AtRestKeyException"/> and leaves
    /// the store as it is (recovery would otherwise take every sealed chunk for corrupt and delete it). A key used
    /// on the store for the first time is recorded; chunks already there in plaintext stay readable.
    /// </summary>
    private async Task CheckAtRestKeyAsync()
    {
        var key = _runtime.AtRestKey;
        var recorded = await ReadKeyCheckAsync();
        if (recorded is null)
        {
            if (key is not null)
            {
                await WriteKeyCheckAsync(key);
            }

            return;
        }

        var expected = key is null ? null : KeyCheckText(key);
        if (key is null)
        {
            throw new AtRestKeyException("this node's chunks are encrypted at rest (" + KeyCheckPath + " records " +
                "key check " + recorded.Trim() + ") but no at-rest key is configured: start it with that key; " +
                "nothing was changed");
        }

        if (!string.Equals(recorded, expected, StringComparison.Ordinal))
        {
            throw new AtRestKeyException($"the configured at-rest key (id {key.IdHex}) is not the key this node's " +
                $"chunks are encrypted with ({KeyCheckPath} records another key check): start it with the key it " +
                "was written with; nothing was changed");
        }
    }

    private static string KeyCheckText(AtRestKey key) =>
        KeyCheckVersion + Convert.ToHexStringLower(key.CheckValue) + "\n";

    /// <summary>The recorded key check, or null if none; a malformed one is an error, never overwritten.</summary>
    private async Task<string?> ReadKeyCheckAsync()
    {
        var length = await _disk.GetLengthAsync(KeyCheckPath);
        if (length is null)
        {
            return null;
        }

        var bytes = new byte[KeyCheckSizeBytes];
        var filled = length == KeyCheckSizeBytes ? await FillAsync(KeyCheckPath, bytes) : (Complete: false, Filled: 0);
        var text = Encoding.ASCII.GetString(bytes);
        if (!filled.Complete || !text.StartsWith(KeyCheckVersion, StringComparison.Ordinal) || !text.EndsWith('\n'))
        {
            throw new AtRestKeyException($"{KeyCheckPath} is damaged ({length} bytes): it records which at-rest " +
                "key the chunks are sealed with; restore it, or delete it to accept the configured key");
        }

        return text;
    }

    /// <summary>Records the key check durably: tmp file, fsync, rename, fsync of the store's directory.</summary>
    private async Task WriteKeyCheckAsync(AtRestKey key)
    {
        await EnsureDirectoryDurableAsync(TmpDirectory);
        var tmpPath = $"{TmpDirectory}/keycheck.{_tmpSequence++}{TmpSuffix}";
        await using (var file = await _disk.CreateAsync(tmpPath))
        {
            await file.AppendAsync(Encoding.ASCII.GetBytes(KeyCheckText(key)));
            await file.FsyncAsync();
        }

        await _disk.RenameAsync(tmpPath, KeyCheckPath);
        await _disk.FsyncDirectoryAsync(RootDirectory);
        _runtime.Events.Publish(new AtRestKeyRecordedEvent(key.IdHex));
    }
}

/// <summary>
/// The configured at-rest key does not fit the store (another key, none, or a damaged record): the node must not
/// start, and nothing on disk was changed.
/// </summary>
public sealed class AtRestKeyException(string message) : InvalidOperationException(message);
