using KeplerSim.Core.Replication;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    /// <summary>Chunk files found at startup not verified yet (the background check after /ready).</summary>
    public int ChunksAwaitingVerification => Store.DeferredCount;

    /// <summary>
    /// The content check startup recovery leaves until after the node is ready (a store of 100,000 chunks was read
    /// in full before /ready: 23 s at best). One chunk at a time, as fast as the disk allows, slowed to scrub's
    /// busy pace while clients transfer. A chunk the index knows goes through scrub's verify-and-replace rule
    /// (<see cref="Scrubber.CheckAsync"/>); a file the index lacks (its record lost with a power loss) is registered
    /// once its bytes verify, and deleted when they do not and nothing recorded a good copy meanwhile. Until its
    /// turn nothing vouches for a file unread: reads and writes verify as always, and an offer hashes it
    /// (<see cref="ChunkStore.ConfirmPresentAsync"/>).
    /// </summary>
    private async Task VerifyDeferredChunksAsync()
    {
        var (chunks, findings) = Store.TakeDeferred();
        foreach (var (id, known) in chunks)
        {
            if (!Store.IsDeferred(id))
            {
                continue; // Read, written or deleted since: someone verified it.
            }

            if (known)
            {
                await VerifyKnownAsync(id, findings);
            }
            else
            {
                await RegisterUnknownAsync(id, findings);
            }

            Store.EndDeferral(id);
            if (ClientTransfersInFlight > 0)
            {
                await _runtime.Clock.DelayAsync(_options.ScrubBusyIntervalMicroseconds);
            }
        }

        _runtime.Events.Publish(new DeferredVerificationDone(chunks.Count, findings.Registered.Count,
            findings.DeletedCorrupt.Count, findings.CorruptKnown.Count));
    }

    private async Task VerifyKnownAsync(string id, RecoveryFindings findings)
    {
        if (await Scrubber.CheckAsync(this, _runtime.Events, id) is { } outcome)
        {
            if (outcome.Status == ChunkStatus.Ok)
            {
                findings.Verified++;
            }
            else
            {
                findings.CorruptKnown.Add(id);
            }
        }
    }

    private async Task RegisterUnknownAsync(string id, RecoveryFindings findings)
    {
        try
        {
            using var read = await Store.ReadAsync(id);
            if (read.IsOk)
            {
                if (Meta.GetChunk(id) is null)
                {
                    // Deferred (no WAL fsync each: 100,000 files found at once were 100,000 fsyncs). A power
                    // loss that takes the record leaves the file unknown again, and the next start checks it again.
                    var sizeBytes = read.Data.Length;
                    Meta.TransactionDeferred(meta =>
                        RecordLocalChunk(meta, id, sizeBytes, requestId: null, replicate: false));
                    findings.Registered.Add(id);
                }
            }
            else if (read.Status == ChunkStatus.Corrupt && Meta.GetChunk(id) is null)
            {
                // Nothing recorded a good copy while the read ran (a write or a replica records one): the file is
                // nobody's copy.
                await Store.DeleteAsync(id);
                findings.DeletedCorrupt.Add(id);
            }
        }
        catch (IOException)
        {
            // A read or delete error is no verdict: the file stays; scrub never vouches for it unread, and a write
            // of the chunk verifies (and replaces) it.
        }
    }
}
