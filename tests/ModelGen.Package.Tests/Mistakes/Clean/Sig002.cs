// A Forward result the generated forward cannot move out of its dispose scope
using System.Collections.Generic;
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Sig002;
public sealed record Cfg { public int Hidden { get; init; } = 64; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    List<Tensor> Forward(Tensor x, [Input(InputShape.Tokens)] Tensor? mask = null) => new() { Up.call(x) }; //~ MG0131
}
