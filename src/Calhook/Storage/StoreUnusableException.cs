namespace Calhook.Storage;

/// <summary>
/// The store's file exists but cannot be used as it is (empty, damaged, not a store). Start-up stops with this message
/// alone, one line that names the file and what to do, and the file is left as it was.
/// </summary>
internal sealed class StoreUnusableException(string message) : InvalidOperationException(message);
