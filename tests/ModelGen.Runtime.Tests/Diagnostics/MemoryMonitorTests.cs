using System;
using ModelGen;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Diagnostics;

[Collection(HostMemoryCollection.Name)]
public sealed class MemoryMonitorTests
{
    private const long TensorBytes = 256L << 20; // 64 Mi float32 elements

    [Fact]
    public void Resident_and_peak_are_read_from_proc()
    {
        var resident = MemoryMonitor.ResidentBytes();
        Assert.InRange(resident, 1L << 20, 1L << 40);
        Assert.True(MemoryMonitor.PeakResidentBytes() >= resident);
    }

    [Fact]
    public void Measure_sees_a_256_MiB_tensor_within_three_percent()
    {
        // Warm up the allocation path so first-call costs do not count in the measurement.
        using (ones(1024)) { }

        var (baseline, peak, above) = MemoryMonitor.Measure(() => {
            using var filled = ones(TensorBytes / sizeof(float));
        });

        Assert.True(baseline > 0);
        Assert.Equal(peak - baseline, above);
        Assert.InRange(above, (long)(TensorBytes * 0.97), (long)(TensorBytes * 1.03));
    }

    [Fact]
    public void ResetPeak_forgets_memory_freed_before_it()
    {
        using (ones(TensorBytes / sizeof(float))) { }
        var afterFree = MemoryMonitor.ResidentBytes();

        MemoryMonitor.ResetPeak();

        Assert.True(MemoryMonitor.PeakResidentBytes() < afterFree + TensorBytes / 2);
    }
}
