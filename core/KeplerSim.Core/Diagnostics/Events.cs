using System.Reactive.Linq;
using System.Reactive.Subjects;

namespace KeplerSim.Core.Diagnostics;

/// <summary>
/// A structured protocol event. Its <see cref="object.ToString"/> (the record's printed members) goes into the
/// simulator's trace, so members must print deterministically: no hash-ordered collections.
/// </summary>
public abstract record KeplerEvent
{
    /// <summary>A short stable name for the kind of event, such as <c>member.dead</c>.</summary>
    public abstract string Kind { get; }
}

/// <summary>Where core publishes its events.</summary>
public interface IEventPublisher
{
    /// <summary>The events, as an observable; observers run on the node's logical thread.</summary>
    IObservable<KeplerEvent> Stream { get; }

    /// <summary>Publishes an event to every observer.</summary>
    void Publish(KeplerEvent kepler);
}

/// <summary>An <see cref="IEventPublisher"/> over an Rx subject; not thread-safe, like all of core.</summary>
public sealed class EventPublisher : IEventPublisher, IDisposable
{
    private readonly Subject<KeplerEvent> _subject = new();

    /// <inheritdoc />
    public IObservable<KeplerEvent> Stream => _subject.AsObservable();

    /// <inheritdoc />
    public void Publish(KeplerEvent kepler) => _subject.OnNext(kepler);

    /// <inheritdoc />
    public void Dispose() => _subject.Dispose();
}
