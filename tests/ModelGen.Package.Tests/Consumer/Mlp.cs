// Compiled by the package test's fresh consumer project, not by the test project.
namespace Consumer;

public sealed record TinyConfig
{
    public int Hidden { get; init; } = 4096;

    public int Ffn { get; init; } = 16384;
}

// 2 x (4096 x 16384) weights + biases = 134 M parameters; training with AdamW in fp32 needs 16 B per parameter
// (weights, gradients, two moments) = 2.0 GiB before activations, far over the 1 GB budget: the memory analyzer's
// MG0001 case. The build must still succeed, since MG0001 is a warning. Inference at the same length on 80 GB fits: no warning.
[ModelGen.Model(typeof(TinyConfig))]
[ModelGen.VramBudget(1, SequenceLength = 8192, Batch = 1, Workload = ModelGen.Workload.Training, Optimizer = ModelGen.Optimizer.AdamW)]
[ModelGen.VramBudget(80, SequenceLength = 8192, Batch = 1, Workload = ModelGen.Workload.Inference)]
public partial class Mlp
{
    [ModelGen.Linear(nameof(TinyConfig.Hidden), nameof(TinyConfig.Ffn))]
    public partial TorchSharp.Modules.Linear Up { get; }

    [ModelGen.Linear(nameof(TinyConfig.Ffn), nameof(TinyConfig.Hidden))]
    public partial TorchSharp.Modules.Linear Down { get; }

    private TorchSharp.torch.Tensor Forward(TorchSharp.torch.Tensor x) =>
        Down.call(TorchSharp.torch.nn.functional.gelu(Up.call(x)));
}
