namespace Calhook.Hosting;

/// <summary>
/// Files and folders only the service's user may read: the data directory (0700 when Calhook creates it) and the
/// store's files (0600). Other local users must not read event titles, attendees or keys.
/// </summary>
internal static class PrivateFiles
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OthersAnything = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates the folder (and missing parents) readable by the owner only. An existing folder keeps its mode: it may be
    /// shared on purpose (a mounted volume), and the files inside are private anyway.
    /// </summary>
    public static string EnsureDirectory(string path)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(full);
            }
            else
            {
                Directory.CreateDirectory(full, OwnerOnlyDirectory);
            }
        }

        return full;
    }

    /// <summary>Creates an empty file readable by the owner only; false when it exists already.</summary>
    public static bool TryCreateEmpty(string path)
    {
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = OwnerOnlyFile;
        }

        try
        {
            using var file = new FileStream(path, create);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    /// <summary>Takes group and other permissions away from an existing file of ours (one left by an older version).</summary>
    public static void Restrict(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & OthersAnything) != 0)
        {
            File.SetUnixFileMode(path, mode & ~OthersAnything);
        }
    }
}
