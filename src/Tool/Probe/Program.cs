using System;
using System.Globalization;
using System.Linq;
using System.Threading;

namespace ModelGen.NvmlProbe
{
    /// <summary>
    /// Checks MemoryMonitor's NVML path on a real GPU: reads every device, then on device 0 creates a CUDA context and allocates
    /// a known number of bytes, and checks that the used memory NVML reports rises by that many bytes (within the driver's 2 MiB
    /// allocation granularity) and falls back after the free. Prints one line per step; exit 0 when every check passes.
    /// Usage: modelgen-nvml-probe [GiB to allocate, default 4]
    /// </summary>
    internal static class Program
    {
        private const long MiB = 1L << 20;

        private static int Main(string[] args)
        {
            var gib = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 4;
            var bytes = gib << 30;
            using var monitor = MemoryMonitor.Open();
            Console.WriteLine($"source: {monitor.Source}; devices: {monitor.DeviceCount}; threshold {monitor.Threshold}" +
                (monitor.NvmlUnavailableReason is { } reason ? $"; NVML unavailable: {reason}" : ""));
            foreach (var sample in monitor.Sample())
                Console.WriteLine($"device {sample.Device} '{sample.Name}': used {sample.UsedBytes / MiB} MiB of {sample.TotalBytes / MiB} MiB ({sample.TotalBytes / (double)(1L << 30):0.00} GiB)");
            if (monitor.Source != MemorySource.Nvml)
            {
                Console.WriteLine("FAIL: NVML was not used");
                return 1;
            }
            if (!CudaDriver.Available())
            {
                Console.WriteLine("FAIL: libcuda.so.1 is missing, so no allocation can be checked");
                return 1;
            }

            long Used() => monitor.Sample()[0].UsedBytes;
            var before = Used();
            var context = CudaDriver.CreateContext(0);
            Thread.Sleep(200);
            var withContext = Used();
            var pointer = CudaDriver.Allocate(bytes);
            Thread.Sleep(200);
            var allocated = Used();
            CudaDriver.Free(pointer);
            Thread.Sleep(200);
            var freed = Used();
            CudaDriver.DestroyContext(context);
            Thread.Sleep(200);
            var after = Used();

            var rise = allocated - withContext;
            Console.WriteLine($"before: {before / MiB} MiB; CUDA driver context: +{(withContext - before) / MiB} MiB; " +
                $"{gib} GiB allocated: +{rise / MiB} MiB; freed: {freed / MiB} MiB; context destroyed: {after / MiB} MiB");
            var alerts = monitor.History.Count(s => s.Fraction >= monitor.Threshold);
            Console.WriteLine($"history: {monitor.History.Count} samples, {alerts} above the threshold; peak {monitor.PeakUsedBytes()[0] / MiB} MiB");
            var ok = rise >= bytes && rise <= bytes + (64 * MiB) && Math.Abs(freed - withContext) <= 64 * MiB;
            Console.WriteLine(ok ? "PASS: NVML saw the allocation and its free" : "FAIL: NVML's used memory did not follow the allocation");
            return ok ? 0 : 1;
        }
    }
}
