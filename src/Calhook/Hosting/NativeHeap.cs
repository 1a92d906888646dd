using System.Runtime.InteropServices;

namespace Calhook.Hosting;

/// <summary>
/// The C heap under the runtime (SQLite's caches and statements, the JIT, OpenSSL). glibc gives each thread that
/// allocates its own arena, up to eight per core, and each arena keeps what its threads freed. At 10,000 watches the
/// malloc heaps held 51–61 MB over 14–16 arenas; with <c>MALLOC_ARENA_MAX=2</c> in the environment, 33 MB. Capped from
/// the first line of the program, the 6–7 arenas the runtime made before it are kept and later threads share them:
/// 36 and 53 MB in two runs (bench/README.md, steady memory).
/// </summary>
internal static class NativeHeap
{
    /// <summary>glibc's <c>M_ARENA_MAX</c> parameter of <c>mallopt</c>.</summary>
    private const int ArenaMaxParameter = -8;

    public const int Arenas = 2;

    /// <summary>
    /// Caps glibc's arenas at <see cref="Arenas"/>, unless <c>MALLOC_ARENA_MAX</c> is set (the operator's choice wins)
    /// or the C library is not glibc (musl has no such setting). Called first thing in the program: arenas already made
    /// are kept and later threads share them; called once the host was running, it changed nothing (16 arenas at 10,000
    /// watches: glibc's arena.c fixes its limit once a process has more than eight). True when glibc took the setting.
    /// </summary>
    public static bool LimitArenas()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null)
        {
            return false;
        }

        try
        {
            // mallopt answers 1 when it took the setting.
            return MallOpt(ArenaMaxParameter, Arenas) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: nothing to cap.
            return false;
        }
    }

    // DllImport, not LibraryImport: two ints need no marshalling code, and LibraryImport would need unsafe code allowed.
    [DllImport("libc", EntryPoint = "mallopt")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallOpt(int parameter, int value);
}
