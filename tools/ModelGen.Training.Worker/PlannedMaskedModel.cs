using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training.Worker
{
    /// <summary>
    /// A generated block whose forward takes a mask beside its hidden state (a tensor that needs no gradient) and an optional
    /// shift (a tensor that needs one, computed outside the stack, left out by some calls).
    /// </summary>
    [Layer(typeof(PlannedConfig))]
    public partial class PlannedMaskedBlock
    {
        [LayerNorm(nameof(PlannedConfig.Hidden))] public partial LayerNorm Norm { get; }
        [FeedForward(nameof(PlannedConfig.Hidden), nameof(PlannedConfig.Ffn))] public partial ModelGen.Nn.FeedForward Mlp { get; }

        private Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(PlannedConfig.Hidden))] Tensor mask,
            [Input(InputShape.Hidden, Width = nameof(PlannedConfig.Hidden))] Tensor? shift = null)
        {
            var h = Norm.call(shift is null ? x : x + shift);
            return x + Mlp.call(h) * mask;
        }
    }

    /// <summary>
    /// ZeRO stage 3 over 2 ranks for a stack of multi-input layers: the first block gets the mask and the shift, the others the
    /// mask only. The generated blocks route through the ZeRO-3 engine with every input.
    /// </summary>
    [Model(typeof(PlannedConfig))]
    [ParallelPlan(DataParallel = 2, ZeroStage = 3)]
    public partial class PlannedMaskedModel
    {
        [Stack(nameof(PlannedConfig.Layers))] public partial ModuleList<PlannedMaskedBlock> Blocks { get; }
        [Linear(nameof(PlannedConfig.Hidden), nameof(PlannedConfig.Hidden))] public partial Linear Shift { get; }
        [Linear(nameof(PlannedConfig.Hidden), nameof(PlannedConfig.Hidden))] public partial Linear Head { get; }

        private Tensor Forward(Tensor x)
        {
            var mask = x.detach().sign().abs();
            var shift = Shift.call(x);
            var first = true;
            foreach (var block in Blocks) {
                x = first ? block.call(x, mask, shift) : block.call(x, mask, null); // the optional shift left out
                first = false;
            }
            return Head.call(x);
        }
    }
}
