using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// A node program that serves every transfer connection made to it with <paramref name="serve"/>: a peer that breaks
/// the protocol in a test's own way (lies about sizes, answers for another path). The connection is disposed after
/// <paramref name="serve"/> ends; the client closing it first is not a failure.
/// </summary>
internal sealed class FakePeer(NodeRuntime runtime, Func<IStreamConnection, Task> serve) : INodeProgram
{
    public Task StartAsync()
    {
        runtime.Streams.SetAcceptor(connection => _ = ServeAsync(connection));
        return Task.CompletedTask;
    }

    private async Task ServeAsync(IStreamConnection connection)
    {
        using (connection)
        {
            try
            {
                await serve(connection);
            }
            catch (Exception e) when (e is StreamBrokenException or ProtocolException)
            {
                // The client closed it.
            }
        }
    }
}
