using System;
using System.Linq;
using ModelGen.Runtime.Tests.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Training;

/// <summary>One residual block: x + fc(gelu(norm(x))).</summary>
internal sealed class StackBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear fc;

    public StackBlock(int width) : base(nameof(StackBlock))
    {
        norm = nn.LayerNorm(width);
        fc = nn.Linear(width, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x + fc.call(nn.functional.gelu(norm.call(x)));
}

/// <summary>in → blocks → norm → head, with the blocks run through an optional layer runner (ZeRO-3 passes its Forward).</summary>
internal sealed class StackModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear input;
    private readonly ModuleList<StackBlock> blocks;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public StackModel(long seed, int blockCount = 3, ScalarType dtype = ScalarType.Float32) : base(nameof(StackModel))
    {
        input = nn.Linear(6, 12);
        blocks = nn.ModuleList(Enumerable.Range(0, blockCount).Select(_ => new StackBlock(12)).ToArray());
        norm = nn.LayerNorm(12);
        head = nn.Linear(12, 3);
        RegisterComponents();
        using (no_grad()) {
            var i = 0;
            foreach (var parameter in parameters())
                parameter.copy_(TensorAssert.Randn(seed + i++, parameter.shape) * 0.4);
        }
        this.to(dtype);
    }

    public ModuleList<StackBlock> Blocks => blocks;

    public Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>? RunLayer { get; set; }

    public override Tensor forward(Tensor x)
    {
        x = input.call(x);
        foreach (var block in blocks)
            x = RunLayer is null ? block.call(x) : RunLayer(block, x);
        return head.call(norm.call(x));
    }
}
