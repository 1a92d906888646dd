namespace Calhook.Emulator.Events;

/// <summary>Raised after a mutation is committed, outside the calendar lock; push channels listen.</summary>
internal sealed class ChangeSignal
{
    public event Action<string>? Changed;

    public void Raise(string collection) => Changed?.Invoke(collection);
}
