using System.Buffers;
using MessagePack;

namespace KeplerSim.Core.Membership;

/// <summary>
/// Encodes and decodes SWIM datagrams and push-pull frames. Both start with <see cref="Magic"/>, whose first byte
/// (0xC1) MessagePack never uses, so an owner sharing a port can tell SWIM traffic from its own MessagePack frames.
/// </summary>
public static class SwimCodec
{
    /// <summary>Longest node id accepted from the wire, in characters.</summary>
    public const int NodeIdCharsMax = 128;

    /// <summary>Longest host name accepted from the wire, in characters.</summary>
    public const int HostCharsMax = 255;

    /// <summary>Largest metadata blob a member may publish.</summary>
    public const int MetadataBytesMax = 256;

    /// <summary>Most updates accepted in one datagram.</summary>
    public const int UpdatesPerDatagramMax = 256;

    /// <summary>Most members listed in one push-pull frame.</summary>
    public const int PushPullMembersMax = 4096;

    /// <summary>Bytes reserved for the updates array header (array16: 0xDC plus two bytes).</summary>
    public const int UpdatesHeaderBytesMax = 3;

    /// <summary>The three bytes every SWIM datagram and frame starts with: 0xC1, 'S', wire version 1.</summary>
    public static ReadOnlySpan<byte> Magic => [0xC1, 0x53, 0x01];

    internal static readonly MessagePackSerializerOptions Wire = MessagePackSerializerOptions.Standard
        .WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>Whether <paramref name="bytes"/> is SWIM traffic (starts with <see cref="Magic"/>).</summary>
    public static bool IsSwim(ReadOnlySpan<byte> bytes) => bytes.StartsWith(Magic);

    /// <summary>Encodes one update through its union type (so the tag is written).</summary>
    public static byte[] EncodeUpdate(MemberUpdate update) => MessagePackSerializer.Serialize(update, Wire);

    /// <summary>Encodes a main message through its union type.</summary>
    public static byte[] EncodeMessage(SwimMessage message) => MessagePackSerializer.Serialize(message, Wire);

    /// <summary>Bytes a datagram needs besides its updates' own bytes (with <paramref name="settings"/> encoded
    /// by <see cref="EncodeSettings"/>, if any).</summary>
    public static int OverheadBytes(byte[]? message, byte[]? settings = null) =>
        Magic.Length + 1 + (message?.Length ?? 1) + UpdatesHeaderBytesMax + (settings?.Length ?? 0);

    /// <summary>Encodes cluster settings for <see cref="AssembleDatagram"/>.</summary>
    public static byte[] EncodeSettings(ClusterSettings settings) => MessagePackSerializer.Serialize(settings, Wire);

    /// <summary>
    /// Assembles a datagram from pre-encoded parts; the result is exactly what serializing a
    /// <see cref="SwimDatagram"/> would give, after <see cref="Magic"/>. Without <paramref name="settings"/> the
    /// datagram has two fields, exactly as before settings existed.
    /// </summary>
    public static byte[] AssembleDatagram(byte[]? message, IReadOnlyList<byte[]> updates, byte[]? settings = null)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write(Magic);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(settings is null ? 2 : 3);
        if (message is null)
        {
            writer.WriteNil();
        }
        else
        {
            writer.WriteRaw(message);
        }

        writer.WriteArrayHeader(updates.Count);
        foreach (var update in updates)
        {
            writer.WriteRaw(update);
        }

        if (settings is not null)
        {
            writer.WriteRaw(settings);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes and validates a datagram; hostile bytes give null and say why.</summary>
    public static SwimDatagram? TryDecodeDatagram(ReadOnlyMemory<byte> bytes, out string? error)
    {
        var datagram = TryDecode<SwimDatagram>(bytes, out error);
        if (datagram is null)
        {
            return null;
        }

        error = ValidateDatagram(datagram);
        return error is null ? datagram : null;
    }

    /// <summary>Encodes a stream frame.</summary>
    public static byte[] EncodeFrame(SwimFrame frame)
    {
        var body = frame is SwimPushPull { Settings: null } pushPull ? EncodeWithoutSettings(pushPull)
            : MessagePackSerializer.Serialize(frame, Wire);
        var bytes = new byte[Magic.Length + body.Length];
        Magic.CopyTo(bytes);
        body.CopyTo(bytes.AsSpan(Magic.Length));
        return bytes;
    }

    /// <summary>
    /// A push-pull without settings in the four-field form nodes sent before settings existed (the union tag, then
    /// the frame), byte for byte: the serializer would add a trailing nil.
    /// </summary>
    private static byte[] EncodeWithoutSettings(SwimPushPull frame)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        writer.Write(0); // SwimFrame's union key of SwimPushPull
        writer.WriteArrayHeader(4);
        writer.Write(frame.IsReply);
        writer.Write(frame.Join);
        writer.Write(frame.Sender);
        MessagePackSerializer.Serialize(ref writer, frame.Members, Wire);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes and validates a stream frame; hostile bytes give null and say why.</summary>
    public static SwimFrame? TryDecodeFrame(ReadOnlyMemory<byte> bytes, out string? error)
    {
        var frame = TryDecode<SwimFrame>(bytes, out error);
        if (frame is null)
        {
            return null;
        }

        error = frame switch
        {
            SwimPushPull pushPull => ValidatePushPull(pushPull),
            SwimStreamPing ping => ValidId(ping.Target) ? null : "bad stream ping target",
            SwimStreamAck => null,
            _ => "unknown frame",
        };
        return error is null ? frame : null;
    }

    private static T? TryDecode<T>(ReadOnlyMemory<byte> bytes, out string? error)
        where T : class
    {
        if (!IsSwim(bytes.Span))
        {
            error = "no SWIM magic";
            return null;
        }

        try
        {
            var value = MessagePackSerializer.Deserialize<T>(bytes[Magic.Length..], Wire, out var read);
            error = value is null ? "empty" : read != bytes.Length - Magic.Length ? "trailing bytes" : null;
            return error is null ? value : null;
        }
#pragma warning disable CA1031 // Decoding is pure: any failure on hostile bytes means "malformed", never a crash.
        catch (Exception e)
#pragma warning restore CA1031
        {
            error = "undecodable: " + e.GetType().Name;
            return null;
        }
    }

    private static string? ValidateDatagram(SwimDatagram datagram)
    {
        var updates = datagram.Updates ?? [];
        if (updates.Length > UpdatesPerDatagramMax)
        {
            return "too many updates";
        }

        var message = ValidateMessage(datagram.Message);
        return message ?? ValidateUpdates(updates) ?? ValidateOptional(datagram.Settings);
    }

    private static string? ValidateMessage(SwimMessage? message) => message switch
    {
        null => null,
        SwimPing ping => ValidId(ping.Target) && ValidId(ping.Source) ? null : "bad ping ids",
        SwimPingRequest request => ValidId(request.Target) && ValidHost(request.TargetHost)
            && ValidPort(request.TargetPort) ? null : "bad ping-req target",
        SwimAck or SwimNack => null,
        SwimJoinRequest join => Validate(join.Self),
        SwimJoinReply join => Validate(join.Self),
        _ => "unknown message",
    };

    private static string? ValidatePushPull(SwimPushPull frame)
    {
        if (!ValidId(frame.Sender))
        {
            return "bad sender";
        }

        var members = frame.Members ?? [];
        return members.Length > PushPullMembersMax ? "too many members"
            : ValidateUpdates(members) ?? ValidateOptional(frame.Settings);
    }

    private static string? ValidateUpdates(MemberUpdate[] updates)
    {
        foreach (var update in updates)
        {
            if (Validate(update) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>Why <paramref name="update"/> is not acceptable, or null.</summary>
    internal static string? Validate(MemberUpdate? update) => update switch
    {
        null => "null update",
        AliveUpdate alive => ValidateAlive(alive),
        SuspectUpdate suspect => ValidId(suspect.Node) && ValidId(suspect.From) && suspect.Incarnation >= 0
            ? null : "bad suspect",
        DeadUpdate dead => ValidId(dead.Node) && ValidId(dead.From) && dead.Incarnation >= 0 ? null : "bad dead",
        _ => "unknown update",
    };

    private static string? ValidateAlive(AliveUpdate alive)
    {
        if (!ValidId(alive.Node) || alive.Incarnation < 0)
        {
            return "bad alive node";
        }

        if (!ValidHost(alive.GossipHost) || !ValidPort(alive.GossipPort))
        {
            return "bad alive gossip address";
        }

        if (!ValidHost(alive.TransferHost) || !ValidPort(alive.TransferPort))
        {
            return "bad alive transfer address";
        }

        return alive.Metadata is { Length: > MetadataBytesMax } ? "metadata too large" : null;
    }

    private static string? ValidateOptional(ClusterSettings? settings) =>
        settings is null ? null : Validate(settings);

    /// <summary>Why <paramref name="settings"/> are not acceptable, or null.</summary>
    internal static string? Validate(ClusterSettings settings) =>
        settings.ReplicationFactor is < 1 or > Ring.RingOptions.ReplicationFactorMax ? "bad replication factor"
        : settings.Version < 1 ? "bad settings version"
        : ValidId(settings.Origin) ? null : "bad settings origin";

    private static bool ValidId(string? id) => id is { Length: > 0 and <= NodeIdCharsMax };

    private static bool ValidHost(string? host) => host is { Length: > 0 and <= HostCharsMax };

    private static bool ValidPort(int port) => port is >= 1 and <= 65535;
}
