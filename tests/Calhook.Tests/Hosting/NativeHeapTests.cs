using Calhook.Hosting;

namespace Calhook.Tests.Hosting;

public sealed class NativeHeapTests
{
    [Fact]
    public void Glibc_takes_the_arena_cap_unless_the_operator_set_one()
    {
        Assert.True(OperatingSystem.IsLinux(), "Calhook's tests run on Linux (glibc), where the cap applies.");
        var before = Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX");
        try
        {
            Environment.SetEnvironmentVariable("MALLOC_ARENA_MAX", null);
            Assert.True(NativeHeap.LimitArenas(), "mallopt(M_ARENA_MAX) was refused or not found.");

            // The operator's MALLOC_ARENA_MAX (read by glibc itself at start) is left as it is.
            Environment.SetEnvironmentVariable("MALLOC_ARENA_MAX", "4");
            Assert.False(NativeHeap.LimitArenas());
        }
        finally
        {
            Environment.SetEnvironmentVariable("MALLOC_ARENA_MAX", before);
        }
    }
}
