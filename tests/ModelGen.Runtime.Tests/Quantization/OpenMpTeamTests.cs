using System;
using System.Threading;
using ModelGen.Quantization;
using TorchSharp;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// The prefill tiles run their chunks on libtorch's OpenMP team (<see cref="OpenMpTeam"/>): it must be found beside TorchSharp's
/// libtorch on Linux (else the tiles silently fall back to the thread pool, the slower hand-over), run every chunk exactly once on
/// more than one thread when libtorch has more than one, and bring a chunk's exception back to the caller instead of unwinding
/// into native code.
/// </summary>
public sealed class OpenMpTeamTests
{
    [Fact]
    public void IsFoundBesideLibtorch()
    {
        Assert.True(OperatingSystem.IsLinux(), "the runtime tests run on Linux");
        Assert.True(OpenMpTeam.Available, "libtorch's OpenMP runtime was not found in /proc/self/maps");
    }

    [Fact]
    public void RunsEveryChunkOnceAcrossTheTeam()
    {
        Assert.True(OpenMpTeam.Available); // the tests run on Linux, in the root file system
        var counts = new int[1000];
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        bool team = torch.get_num_threads() > 1;
        OpenMpTeam.For(counts.Length, 2, chunk =>
        {
            Interlocked.Increment(ref counts[chunk]);
            threads[Environment.CurrentManagedThreadId] = true;
            // The first chunk waits for a second thread to take one, so a loaded machine cannot let one thread take them all.
            if (chunk == 0 && team)
                SpinWait.SpinUntil(() => threads.Count > 1, TimeSpan.FromSeconds(30));
        });
        Assert.All(counts, c => Assert.Equal(1, c));
        if (team)
            Assert.True(threads.Count > 1, $"all chunks ran on {threads.Count} thread");
    }

    [Fact]
    public void RethrowsTheFirstFailure()
    {
        Assert.True(OpenMpTeam.Available);
        var error = Assert.Throws<InvalidOperationException>(() => OpenMpTeam.For(64, 2, chunk =>
        {
            if (chunk == 17)
                throw new InvalidOperationException("chunk 17");
        }));
        Assert.Equal("chunk 17", error.Message);
        int ran = 0;
        OpenMpTeam.For(8, 2, _ => Interlocked.Increment(ref ran)); // the team still works afterwards
        Assert.Equal(8, ran);
    }
}
