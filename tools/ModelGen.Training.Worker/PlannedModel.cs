using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training.Worker
{
    /// <summary>Sizes of the generated model the plan case trains.</summary>
    public sealed record PlannedConfig
    {
        /// <summary>Input and hidden width.</summary>
        public int Hidden { get; init; } = 8;

        /// <summary>Feed-forward width.</summary>
        public int Ffn { get; init; } = 16;

        /// <summary>Repeats of the block.</summary>
        public int Layers { get; init; } = 2;
    }

    /// <summary>A generated block: norm, feed-forward, residual.</summary>
    [Layer(typeof(PlannedConfig))]
    public partial class PlannedBlock
    {
        [LayerNorm(nameof(PlannedConfig.Hidden))] public partial LayerNorm Norm { get; }
        [FeedForward(nameof(PlannedConfig.Hidden), nameof(PlannedConfig.Ffn))] public partial ModelGen.Nn.FeedForward Mlp { get; }

        private Tensor Forward(Tensor x) => x + Mlp.call(Norm.call(x));
    }

    /// <summary>A generated model with a data-parallel plan over 2 ranks and ZeRO 1: what <c>CreateTraining</c> runs.</summary>
    [Model(typeof(PlannedConfig))]
    [ParallelPlan(DataParallel = 2, ZeroStage = 1)]
    public partial class PlannedModel
    {
        [Stack(nameof(PlannedConfig.Layers))] public partial ModuleList<PlannedBlock> Blocks { get; }
        [Linear(nameof(PlannedConfig.Hidden), nameof(PlannedConfig.Hidden))] public partial Linear Head { get; }

        private Tensor Forward(Tensor x)
        {
            foreach (var block in Blocks)
                x = block.call(x);
            return Head.call(x);
        }
    }
}
