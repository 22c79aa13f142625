using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training.Worker
{
    /// <summary>A generated block with a Megatron pair: Up split by columns, Down by rows (docs/tensor-parallel.md).</summary>
    [Layer(typeof(PlannedConfig))]
    public partial class PlannedTpBlock
    {
        [LayerNorm(nameof(PlannedConfig.Hidden))] public partial LayerNorm Norm { get; }
        [Linear(nameof(PlannedConfig.Hidden), nameof(PlannedConfig.Ffn)), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Up { get; }
        [Linear(nameof(PlannedConfig.Ffn), nameof(PlannedConfig.Hidden)), Shard(ShardStyle.Row)] public partial nn.Module<Tensor, Tensor> Down { get; }

        private Tensor Forward(Tensor x) => x + Down.call(nn.functional.gelu(Up.call(Norm.call(x))));
    }

    /// <summary>ZeRO stage 3 over 2 data-parallel ranks of tensor-parallel pairs: 4 ranks, each partitioning its shard of the blocks.</summary>
    [Model(typeof(PlannedConfig))]
    [ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 3)]
    public partial class PlannedTpModel
    {
        [Stack(nameof(PlannedConfig.Layers))] public partial ModuleList<PlannedTpBlock> Blocks { get; }
        [Linear(nameof(PlannedConfig.Hidden), nameof(PlannedConfig.Hidden))] public partial Linear Head { get; }

        private Tensor Forward(Tensor x)
        {
            foreach (var block in Blocks)
                x = block.call(x);
            return Head.call(x);
        }
    }
}
