using System;
using ModelGen.Adapters;
using ModelGen.Distributed;
using ModelGen.Parallel;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Adapters;

/// <summary>
/// A [LoRA] target that is a tensor-parallel slice is refused at start-up with a message naming it (MG0213 says so at compile
/// time): LoRA adapts whole Linear and QuantizedLinear layers only, and silently skipping the slice would train nothing.
/// </summary>
public sealed class TensorParallelTargetTests
{
    private sealed class SlicedBlock : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "q_proj")]
        public readonly ColumnParallelLinear Query;
        [ComponentName(Name = "o_proj")]
        public readonly Linear Out;

        public SlicedBlock() : base(nameof(SlicedBlock))
        {
            Query = new ColumnParallelLinear(16, 16, new TensorParallelOptions(SingleProcessGroup.Instance), "q_proj");
            Out = nn.Linear(16, 16);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => Out.call(Query.call(input));
    }

    [Fact]
    public void A_tensor_parallel_target_is_refused_by_name()
    {
        using var block = new SlicedBlock();
        var refused = Assert.Throws<NotSupportedException>(() => LoRA.ApplyScope(block, new LoraOptions { Rank = 2, Alpha = 4, TargetModules = new[] { "q_proj", "o_proj" } }));
        Assert.Contains("'q_proj' is a tensor-parallel slice (ColumnParallelLinear)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("MG0213", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Whole_layers_beside_slices_still_take_adapters_when_no_slice_is_targeted()
    {
        using var block = new SlicedBlock();
        var added = LoRA.ApplyScope(block, new LoraOptions { Rank = 2, Alpha = 4, TargetModules = new[] { "o_proj" } });
        Assert.Equal("o_proj", Assert.Single(added).Path);
    }
}
