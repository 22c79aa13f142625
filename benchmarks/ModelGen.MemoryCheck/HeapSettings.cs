using System.Runtime.InteropServices;

namespace ModelGen.MemoryCheck;

/// <summary>
/// Pins glibc malloc's mmap threshold so the resident set follows the live tensor bytes the memory model predicts.
/// By default glibc raises the threshold to the size of each mmapped block freed (up to 32 MiB, "dynamic mmap threshold"
/// in mallopt(3)); after that, tensor-sized blocks come from the heap, and freed heap blocks stay resident unless they
/// happen to sit at its top, so the resident set of a training loop grows step after step by an amount that depends on
/// allocation order, not on what is alive. Setting <c>M_MMAP_THRESHOLD</c> explicitly turns the dynamic raising off.
/// </summary>
internal static class HeapSettings
{
    /// <summary>glibc's own default threshold (mallopt(3)): blocks of 128 KiB or more are mmapped and unmapped on free.</summary>
    public const int MmapThresholdBytes = 128 * 1024;

    // mallopt(3) parameter numbers from glibc's malloc.h.
    private const int MmapThreshold = -3;
    private const int ArenaMax = -8;

    /// <summary>Fixes the mmap threshold at <see cref="MmapThresholdBytes"/> and uses one arena (as MALLOC_ARENA_MAX=1 does).</summary>
    /// <exception cref="System.InvalidOperationException">glibc refused a setting.</exception>
    public static void Apply()
    {
        if (mallopt(MmapThreshold, MmapThresholdBytes) != 1 || mallopt(ArenaMax, 1) != 1)
            throw new System.InvalidOperationException("glibc's mallopt refused M_MMAP_THRESHOLD or M_ARENA_MAX; this measurement needs glibc on Linux.");
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int parameter, int value);
}
