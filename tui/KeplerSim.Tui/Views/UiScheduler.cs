using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Terminal.Gui.App;

namespace KeplerSim.Tui.Views;

/// <summary>
/// An Rx scheduler that runs work on Terminal.Gui's UI thread: at once through
/// <see cref="IApplication.Invoke(Action)"/> (immediate on the UI thread, queued for the next loop iteration from
/// any other), later through a timeout.
/// Under a headless test's virtual time provider, timeouts follow virtual time.
/// </summary>
public sealed class UiScheduler(IApplication app) : LocalScheduler
{
    /// <inheritdoc />
    public override IDisposable Schedule<TState>(TState state, TimeSpan dueTime,
        Func<IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var cancel = new SingleAssignmentDisposable();
        if (dueTime <= TimeSpan.Zero)
        {
            app.Invoke(() =>
            {
                if (!cancel.IsDisposed)
                {
                    action(this, state);
                }
            });
            return cancel;
        }

        var token = app.AddTimeout(dueTime, () =>
        {
            if (!cancel.IsDisposed)
            {
                action(this, state);
            }

            return false;
        });
        return token is null
            ? cancel
            : new CompositeDisposable(cancel, Disposable.Create(() => app.RemoveTimeout(token)));
    }
}
