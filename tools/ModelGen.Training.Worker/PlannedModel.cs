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

    /// <summary>The same model planned with ZeRO stage 3 over 2 ranks: its generated blocks route through the ZeRO-3 engine.</summary>
    [Model(typeof(PlannedConfig))]
    [ParallelPlan(DataParallel = 2, ZeroStage = 3)]
    public partial class PlannedZero3Model
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

    /// <summary>ZeRO stage 3 with the parameters and the optimizer on the host.</summary>
    [Model(typeof(PlannedConfig))]
    [ParallelPlan(DataParallel = 2, ZeroStage = 3, OffloadParameters = true, OffloadOptimizer = true)]
    public partial class PlannedOffloadModel
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
