// A budget whose parallel settings contradict the model's [ParallelPlan]
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M096;
public sealed record Cfg { public int Hidden { get; init; } = 64; }
[Model(typeof(Cfg)), ParallelPlan(DataParallel = 2, ZeroStage = 1)]
[VramBudget(80, DataParallel = 4)] //~ MG0207
public partial class Net
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x) => Up.call(x);
}
