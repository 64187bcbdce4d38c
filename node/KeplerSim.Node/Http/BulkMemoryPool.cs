using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace KeplerSim.Node.Http;

/// <summary>
/// Kestrel's memory pool for this node: blocks of at least <see cref="BlockBytes"/> from
/// <see cref="ArrayPool{T}.Shared"/>. Kestrel's own pool hands out 4 KiB blocks, and the socket transport receives
/// into one block at a time, so a 1 GiB upload cost 262,144 receive system calls (the profile's largest cost after
/// the page-cache copy on this VM, where a system call is expensive). With 64 KiB blocks one receive takes up to
/// 64 KiB. Idle connections hold no block (Kestrel waits for data before it allocates).
/// </summary>
internal sealed class BulkMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    /// <summary>The smallest block handed out.</summary>
    public const int BlockBytes = 64 * 1024;

    /// <inheritdoc />
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new BulkMemoryPool();

    private sealed class BulkMemoryPool : MemoryPool<byte>
    {
        public override int MaxBufferSize => int.MaxValue;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) =>
            Shared.Rent(Math.Max(BlockBytes, minBufferSize));

        protected override void Dispose(bool disposing)
        {
            // Blocks go back to the shared array pool one by one; there is nothing else to release.
        }
    }
}
