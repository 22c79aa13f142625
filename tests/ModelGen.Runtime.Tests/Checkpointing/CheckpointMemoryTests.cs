using System;
using ModelGen;
using ModelGen.Runtime.Tests.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Checkpointing;

/// <summary>
/// Checks the memory model's premise for checkpointed layers: between forward and backward they hold nothing but their
/// output (the input belongs to the caller), while a plain layer holds every tensor autograd saves.
/// </summary>
[Collection(HostMemoryCollection.Name)]
public sealed class CheckpointMemoryTests
{
    // 2304 x 4096 float32 = 36 MiB per activation: above glibc's largest mmap threshold (32 MiB), so a freed
    // activation leaves the resident set at once and resident bytes track live tensors.
    private const int Rows = 2304;
    private const int Width = 4096;
    private const long ActivationBytes = (long)Rows * Width * sizeof(float);

    /// <summary>out = gelu(x * a) * b + x with per-feature weights: cheap elementwise ops, large activations.</summary>
    private sealed class ScaleBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter a = nn.Parameter(ones(Width));
        private readonly Parameter b = nn.Parameter(ones(Width));

        public ScaleBlock() : base(nameof(ScaleBlock)) => RegisterComponents();

        public bool Checkpointed { get; set; }

        public override Tensor forward(Tensor input) => Checkpointed ? Checkpoint.Run(this, Body, input) : Body(input);

        private Tensor Body(Tensor x) => nn.functional.gelu(x * a) * b + x;
    }

    private static long HeldAfterForward(bool checkpointed)
    {
        var block = new ScaleBlock { Checkpointed = checkpointed };
        using var input = ones(Rows, Width).requires_grad_();
        using var scope = NewDisposeScope();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = MemoryMonitor.ResidentBytes();

        _ = block.call(input);

        return MemoryMonitor.ResidentBytes() - before;
    }

    [Fact]
    public void A_checkpointed_region_holds_only_its_output_until_backward()
    {
        // Resident bytes also move when something else in the process frees memory during a measurement (a finalizer, a
        // background thread of an earlier test), which can only lower a reading, so the largest of three readings is the
        // plain layer's, and the smallest of three bounds the checkpointed layer's from above.
        long plain = 0, checkpointed = long.MaxValue;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            plain = Math.Max(plain, HeldAfterForward(checkpointed: false));
            checkpointed = Math.Min(checkpointed, HeldAfterForward(checkpointed: true));
        }

        // Plain keeps x*a (saved by gelu), gelu's output (saved by the mul) and its output: three activations autograd needs.
        // gelu(x*a)*b, a temporary whose wrapper lives until the caller's scope ends, makes a fourth in most runs; a clean-clone
        // CI run once measured three (its storage was already released), so the bound accepts both and still sits far above
        // the checkpointed layer's one.
        Assert.InRange(plain, ActivationBytes * 29 / 10, ActivationBytes * 42 / 10);
        // Checkpointed keeps the output alone; the margin covers allocator bookkeeping, not another activation.
        Assert.InRange(checkpointed, ActivationBytes * 9 / 10, ActivationBytes * 12 / 10);
    }
}
