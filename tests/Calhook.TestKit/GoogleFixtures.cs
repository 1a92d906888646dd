namespace Calhook.TestKit;

/// <summary>
/// The recorded Google Calendar responses in <c>tests/fixtures/google</c> (their sources in <c>SOURCES.md</c> there).
/// The TestKit copies them next to every test assembly that references it, so a test reads them from its own output
/// folder and a bare clone carries everything it needs.
/// </summary>
public static class GoogleFixtures
{
    /// <summary>The folder holding the fixture files and SOURCES.md.</summary>
    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures", "google");

    /// <summary>The file names (no folder) of every recorded response, in ordinal order.</summary>
    public static IReadOnlyList<string> Names() =>
        [.. Directory.GetFiles(Folder, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    /// <summary>The full path of one fixture file.</summary>
    public static string PathOf(string name) => Path.Combine(Folder, name);
}
