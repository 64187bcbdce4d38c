using System.Diagnostics;
using System.Globalization;

namespace KeplerSim.Node.Cli;

/// <summary>
/// A progress bar with rate and ETA on stderr, drawn only when stderr is a terminal and the transfer is large.
/// </summary>
internal sealed class Progress : IDisposable
{
    /// <summary>Transfers smaller than this draw no bar.</summary>
    public const long LargeTransferBytes = 8L * 1024 * 1024;

    private const int BarWidth = 30;
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(200);

    private readonly string _label;
    private readonly long? _total;
    private readonly TextWriter? _terminal;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _lastDraw;
    private long _done;

    /// <summary>A bar on stderr if it is a terminal and the transfer is large (or of unknown size).</summary>
    public Progress(string label, long? total)
        : this(label, total, !Console.IsErrorRedirected && (total is null || total >= LargeTransferBytes)
            ? Console.Error
            : null)
    {
    }

    /// <summary>A bar drawn on <paramref name="terminal"/>; none when it is null.</summary>
    internal Progress(string label, long? total, TextWriter? terminal)
    {
        _label = label;
        _total = total;
        _terminal = terminal;
    }

    public void Add(long bytes)
    {
        _done += bytes;
        // The first call always draws. (The last draw once started at TimeSpan.MinValue, and the subtraction
        // overflowed: every large upload or download on a terminal died with an OverflowException.)
        if (_terminal is not null && (_lastDraw is not { } last || _clock.Elapsed - last >= RedrawInterval))
        {
            Draw();
        }
    }

    public void Dispose()
    {
        if (_terminal is not null)
        {
            Draw();
            _terminal.WriteLine();
        }
    }

    private void Draw()
    {
        _lastDraw = _clock.Elapsed;
        _terminal!.Write("\r" + Format(_label, _done, _total, _clock.Elapsed) + "    ");
    }

    /// <summary>
    /// One line of progress: with a known total a bar, percentage, bytes, rate and ETA; without one the bytes and
    /// rate.
    /// </summary>
    public static string Format(string label, long done, long? total, TimeSpan elapsed)
    {
        var rate = done / Math.Max(elapsed.TotalSeconds, 1e-3);
        if (total is not { } size || size <= 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{label} {Size(done)} {Size((long)rate)}/s");
        }

        var fraction = Math.Clamp((double)done / size, 0, 1);
        var filled = (int)(fraction * BarWidth);
        var eta = rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, size - done) / rate) : TimeSpan.Zero;
        return string.Create(CultureInfo.InvariantCulture,
            $"{label} [{new string('#', filled)}{new string(' ', BarWidth - filled)}] {fraction * 100,5:0.0}% " +
            $"{Size(done)}/{Size(size)} {Size((long)rate)}/s ETA {eta:hh\\:mm\\:ss}");
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}

/// <summary>A read-only stream that reports the bytes read through it.</summary>
internal sealed class ProgressStream(Stream inner, Progress progress) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        progress.Add(read);
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        progress.Add(read);
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
