using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Security;

/// <summary>
/// One sealed transfer connection. Handshake (docs/PROTOCOL.md): hello = version | key id | client nonce (16);
/// reply = version | key id | server nonce (16) | server proof; confirm = client proof. A proof is the AES-GCM tag
/// of an empty message under the sender's direction key, counter 0, over the transcript so far, so each side shows
/// it holds the key and saw the other's fresh nonce. Direction keys are HKDF(transfer key, salt = both nonces).
/// Data frames: ciphertext | tag, nonce = 4 zero bytes | 8-byte counter (1, 2, … per direction).
/// </summary>
internal sealed class SealedStreamConnection : IStreamConnection
{
    public const int TagBytes = 16;
    private const int NonceBytes = 12;
    private const int ClientNonceBytes = 16;
    private const int HelloBytes = 1 + ClusterKeyring.KeyIdBytes + ClientNonceBytes;
    private const int ReplyBytes = HelloBytes + TagBytes;

    private readonly IStreamConnection _inner;
    private readonly SealedStreamSettings _settings;
    private readonly bool _client;
    private AesGcm? _sendCipher;
    private AesGcm? _receiveCipher;
    private ulong _sent;
    private ulong _received;
    private byte[] _buffer = [];
    private Task<bool>? _handshake;
    private bool _disposed;

    public SealedStreamConnection(IStreamConnection inner, SealedStreamSettings settings, bool client)
    {
        _inner = inner;
        _settings = settings;
        _client = client;
    }

    public NetAddress Remote => _inner.Remote;

    /// <summary>Runs the handshake once; false when the peer closed cleanly before finishing it.</summary>
    public Task<bool> HandshakeAsync(CancellationToken cancellationToken) =>
        _handshake ??= _client ? ClientHandshakeAsync(cancellationToken) : ServerHandshakeAsync(cancellationToken);

    public async Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
    {
        if (_sendCipher is null && !await HandshakeAsync(cancellationToken))
        {
            throw new StreamBrokenException($"stream to {Remote}: closed during the cluster key handshake");
        }

        ThrowIfClosed();
        var length = frame.Length + TagBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Span<byte> nonce = stackalloc byte[NonceBytes];
            NonceOf(++_sent, nonce);
            _sendCipher!.Encrypt(nonce, frame.Span, buffer.AsSpan(0, frame.Length),
                buffer.AsSpan(frame.Length, TagBytes));
            await _inner.SendAsync(buffer.AsMemory(0, length), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        if (_receiveCipher is null && !await HandshakeAsync(cancellationToken))
        {
            return null;
        }

        if (await _inner.ReceiveAsync(cancellationToken) is not { } frame)
        {
            return null;
        }

        ThrowIfClosed();
        if (frame.Length < TagBytes)
        {
            throw Fail(AuthDropReason.Malformed);
        }

        var plainBytes = frame.Length - TagBytes;
        if (_buffer.Length < plainBytes)
        {
            _buffer = new byte[plainBytes]; // Grows to the largest frame seen (frames are bounded by the transport).
        }

        Span<byte> nonce = stackalloc byte[NonceBytes];
        NonceOf(++_received, nonce);
        try
        {
            _receiveCipher!.Decrypt(nonce, frame.Span[..plainBytes], frame.Span[plainBytes..],
                _buffer.AsSpan(0, plainBytes));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Fail(AuthDropReason.Forged);
        }

        return _buffer.AsMemory(0, plainBytes);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _inner.Dispose();
        _sendCipher?.Dispose();
        _receiveCipher?.Dispose();
    }

    private async Task<bool> ClientHandshakeAsync(CancellationToken cancellationToken)
    {
        var key = _settings.Keyring.Primary;
        var hello = new byte[HelloBytes];
        hello[0] = SealedDatagramNetwork.Version;
        BinaryPrimitives.WriteUInt32BigEndian(hello.AsSpan(1), key.Id);
        _settings.Random.NextBytes(hello.AsSpan(1 + ClusterKeyring.KeyIdBytes));
        await _inner.SendAsync(hello, cancellationToken);
        if (await _inner.ReceiveAsync(cancellationToken) is not { } received)
        {
            throw new StreamBrokenException($"stream to {Remote}: the peer refused the cluster key handshake");
        }

        ThrowIfClosed();
        var reply = received.ToArray();
        if (reply.Length != ReplyBytes || reply[0] != SealedDatagramNetwork.Version)
        {
            throw Fail(reply.Length > 0 && reply[0] != SealedDatagramNetwork.Version
                ? AuthDropReason.Version : AuthDropReason.Malformed);
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(1)) != key.Id)
        {
            throw Fail(AuthDropReason.UnknownKey);
        }

        var transcript = hello.Concat(reply[..HelloBytes]).ToArray();
        Derive(key, hello.AsSpan(1 + ClusterKeyring.KeyIdBytes), reply.AsSpan(1 + ClusterKeyring.KeyIdBytes,
            ClientNonceBytes));
        VerifyProof(transcript, reply.AsSpan(HelloBytes));
        await _inner.SendAsync(Proof(transcript), cancellationToken);
        return true;
    }

    private async Task<bool> ServerHandshakeAsync(CancellationToken cancellationToken)
    {
        if (await _inner.ReceiveAsync(cancellationToken) is not { } received)
        {
            return false;
        }

        var hello = received.ToArray();
        if (hello.Length != HelloBytes || hello[0] != SealedDatagramNetwork.Version)
        {
            throw Fail(hello.Length > 0 && hello[0] != SealedDatagramNetwork.Version
                ? AuthDropReason.Version : AuthDropReason.Malformed);
        }

        var key = _settings.Keyring.WithId(BinaryPrimitives.ReadUInt32BigEndian(hello.AsSpan(1))).FirstOrDefault()
            ?? throw Fail(AuthDropReason.UnknownKey);
        var header = new byte[HelloBytes];
        hello.AsSpan(0, 1 + ClusterKeyring.KeyIdBytes).CopyTo(header);
        _settings.Random.NextBytes(header.AsSpan(1 + ClusterKeyring.KeyIdBytes));
        var transcript = hello.Concat(header).ToArray();
        Derive(key, hello.AsSpan(1 + ClusterKeyring.KeyIdBytes), header.AsSpan(1 + ClusterKeyring.KeyIdBytes));
        await _inner.SendAsync(header.Concat(Proof(transcript)).ToArray(), cancellationToken);
        if (await _inner.ReceiveAsync(cancellationToken) is not { } confirm)
        {
            return false;
        }

        ThrowIfClosed();
        if (confirm.Length != TagBytes)
        {
            throw Fail(AuthDropReason.Malformed);
        }

        VerifyProof(transcript, confirm.Span);
        return true;
    }

    /// <summary>
    /// The connection was disposed (a timeout closed it) while an await was pending: its ciphers are gone, so the
    /// operation fails like any broken connection.
    /// </summary>
    private void ThrowIfClosed()
    {
        if (_disposed)
        {
            throw new StreamBrokenException($"stream to {Remote}: closed");
        }
    }

    /// <summary>Direction keys from the key and both nonces; each side sends with its own.</summary>
    private void Derive(ClusterKey key, ReadOnlySpan<byte> clientNonce, ReadOnlySpan<byte> serverNonce)
    {
        ThrowIfClosed();
        var salt = new byte[2 * ClientNonceBytes];
        clientNonce.CopyTo(salt);
        serverNonce.CopyTo(salt.AsSpan(ClientNonceBytes));
        var toServer = DirectionKey(key, salt, "client to server");
        var toClient = DirectionKey(key, salt, "server to client");
        _sendCipher = new AesGcm(_client ? toServer : toClient, TagBytes);
        _receiveCipher = new AesGcm(_client ? toClient : toServer, TagBytes);
    }

    private static byte[] DirectionKey(ClusterKey key, byte[] salt, string direction) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.TransferKey, ClusterKeyring.KeyBytes, salt,
            Encoding.ASCII.GetBytes("kepler transfer " + direction));

    /// <summary>This side's proof: the tag of an empty message, counter 0, over the transcript.</summary>
    private byte[] Proof(byte[] transcript)
    {
        var tag = new byte[TagBytes];
        Span<byte> nonce = stackalloc byte[NonceBytes];
        _sendCipher!.Encrypt(nonce, [], [], tag, transcript);
        return tag;
    }

    private void VerifyProof(byte[] transcript, ReadOnlySpan<byte> proof)
    {
        Span<byte> nonce = stackalloc byte[NonceBytes];
        try
        {
            _receiveCipher!.Decrypt(nonce, [], proof, [], transcript);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Fail(AuthDropReason.Forged);
        }
    }

    private static void NonceOf(ulong counter, Span<byte> nonce)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], counter);
    }

    /// <summary>Counts the drop, closes the connection and returns the exception to throw.</summary>
    private StreamBrokenException Fail(AuthDropReason reason)
    {
        _settings.Counters.Drop(AuthDropKind.Frame, reason);
        Dispose();
        return new StreamBrokenException($"stream to {Remote}: dropped by the cluster key ({reason})");
    }
}
