using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Optimizers;
using ModelGen.Runtime.Tests.Nn;
using ModelGen.Runtime.Tests.Optimizers;
using ModelGen.Training;
using TorchSharp;
using TorchSharp.Modules;
using static ModelGen.Runtime.Tests.Optimizers.OptimizerTestModels;
using static TorchSharp.torch;
using AdamW = ModelGen.Optimizers.AdamW;

namespace ModelGen.Runtime.Tests.Training;

/// <summary>
/// ZeRO stage 3 for layers whose forward takes a mask and an optional input beside the hidden state and returns a tuple with an
/// integer member, routed through the hook the way generated layers do (<see cref="ZeroRouting.Forward{TResult}"/>): two thread
/// ranks after 5 AdamW steps equal one plain rank; the gradient reaches the optional input's producer outside the stack; the integer
/// output comes back without a gradient. The generated form under mpirun: MpiTrainingTests' zero3-multi case.
/// </summary>
public sealed class ZeroStage3MultiInputTests
{
    private const int Steps = 5;

    private static (MaskedStack Expected, MaskedStack[] Ranks) Train(int ranks)
    {
        var expected = new MaskedStack(71);
        using (var reference = new AdamW(expected.parameters(), learningRate: 0.01, weightDecay: 0.1))
            OptimizerTestModels.Train(expected, Steps, () => reference.Step());
        var models = Enumerable.Range(0, ranks).Select(_ => new MaskedStack(71)).ToArray();
        ThreadedGroup.Run(ranks, group => {
            var model = models[group.Rank];
            var layers = ZeroStage3.RepeatedLayers(model);
            Assert.Equal(3, layers.Count); // the blocks are units although they are not Module<Tensor, Tensor>
            using var zero = new ZeroStage3(model, layers, group);
            using var optimizer = new AdamW(zero.Partitions, learningRate: 0.01, weightDecay: 0.1,
                settings: new OptimizerSettings { DataParallel = group, ZeroStage = 3 });
            var rows = 8 / ranks;
            for (var s = 0; s < Steps; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = Batch(s);
                zero.BeginForward();
                zero.Backward(Loss(model, input.narrow(0, rows * group.Rank, rows), target.narrow(0, rows * group.Rank, rows)));
                optimizer.Step();
                Assert.All(model.parameters(), p => Assert.Equal(0, p.numel()));
            }
            zero.GatherAll();
        });
        return (expected, models);
    }

    [Fact]
    public void Two_ranks_equal_one_plain_rank_with_a_mask_an_optional_input_and_a_tuple_result()
    {
        var (expected, ranks) = Train(2);
        AssertSameParameters(expected, ranks[0], atol: 2e-6);
        AssertSameParameters(ranks[0], ranks[1], atol: 0);
        // Once per step: the engine calls the layer again for its forward and its recompute with the hook off.
        Assert.All(ranks[0].Blocks, b => Assert.True(b.Routed == Steps, $"routed {b.Routed} times"));
        // The shift (an input the engine keeps, not gathers) got its gradient through the first block: its weights moved as the plain model's.
        Assert.True(ranks[0].ShiftWeight.allclose(expected.ShiftWeight, rtol: 1e-5, atol: 2e-6));
        Assert.False(ranks[0].ShiftWeight.allclose(new MaskedStack(71).ShiftWeight));
    }

    [Fact]
    public void The_integer_output_is_returned_without_a_gradient_and_equals_the_plain_layers()
    {
        var plain = new MaskedStack(72);
        var model = new MaskedStack(72);
        using var zero = new ZeroStage3(model, ZeroStage3.RepeatedLayers(model), Distributed.SingleProcessGroup.Instance, offloadParameters: true);
        var input = TensorAssert.Randn(5, 4, 6);
        zero.BeginForward();
        var output = model.call(input);
        Assert.True(output.requires_grad);
        Assert.Equal(ScalarType.Int64, model.LastPicked!.dtype);
        Assert.False(model.LastPicked.requires_grad);
        var expected = plain.call(input);
        Assert.True(model.LastPicked.eq(plain.LastPicked!).all().item<bool>());
        zero.Backward(output.sum());
        Assert.True(output.allclose(expected, rtol: 1e-6, atol: 1e-6));
    }
}

/// <summary>x + fc(gelu(norm(x + shift?))) · mask, and the argmax of the result: a mask, an optional input, a tuple with an integer.</summary>
internal sealed class MaskedBlock : nn.Module<Tensor, Tensor, Tensor?, (Tensor Hidden, Tensor Picked)>
{
    private readonly LayerNorm norm;
    private readonly Linear fc;

    public MaskedBlock(int width) : base(nameof(MaskedBlock))
    {
        norm = nn.LayerNorm(width);
        fc = nn.Linear(width, width);
        RegisterComponents();
    }

    /// <summary>Forward calls that went through the ZeRO-3 hook.</summary>
    public int Routed { get; private set; }

    public override (Tensor Hidden, Tensor Picked) forward(Tensor x, Tensor mask, Tensor? shift)
    {
        // What a generated forward starts with (ForwardEmitter): route the call, every input included, through the engine.
        if (ZeroRouting.Routes(this)) {
            Routed++;
            return ZeroRouting.Forward<(Tensor Hidden, Tensor Picked)>(this, [x, mask, shift], given => call(given[0]!, given[1]!, given[2]),
                outputs => [outputs.Hidden, outputs.Picked], (_, given) => (given[0]!, given[1]!));
        }
        var h = x + fc.call(nn.functional.gelu(norm.call(shift is null ? x : x + shift))) * mask;
        return (h, h.argmax(-1));
    }
}

/// <summary>in → 3 masked blocks (the first also given a shift computed outside the stack) → head.</summary>
internal sealed class MaskedStack : nn.Module<Tensor, Tensor>
{
    private readonly Linear input;
    private readonly Linear shift;
    private readonly ModuleList<MaskedBlock> blocks;
    private readonly Linear head;

    public MaskedStack(long seed) : base(nameof(MaskedStack))
    {
        input = nn.Linear(6, 12);
        shift = nn.Linear(6, 12);
        blocks = nn.ModuleList(Enumerable.Range(0, 3).Select(_ => new MaskedBlock(12)).ToArray());
        head = nn.Linear(12, 3);
        RegisterComponents();
        using var _ = no_grad();
        var i = 0;
        foreach (var parameter in parameters())
            parameter.copy_(TensorAssert.Randn(seed + i++, parameter.shape) * 0.4);
    }

    public ModuleList<MaskedBlock> Blocks => blocks;

    public Tensor ShiftWeight => shift.weight!.detach().clone();

    public Tensor? LastPicked { get; private set; }

    public override Tensor forward(Tensor x)
    {
        var h = input.call(x);
        using var mask = (h.detach() > 0).to_type(h.dtype);
        var s = shift.call(x);
        var first = true;
        foreach (var block in blocks) {
            (h, var picked) = block.call(h, mask, first ? s : null);
            LastPicked = picked;
            first = false;
        }
        return head.call(h);
    }
}
