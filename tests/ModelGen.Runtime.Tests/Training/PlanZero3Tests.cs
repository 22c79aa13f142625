using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using ModelGen.Runtime.Tests.Nn;
using ModelGen.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Training;

/// <summary>
/// A ZeRO stage 3 plan in one process (with parameter offload: over one rank ZeRO-3 alone partitions nothing): the repeated layers route their forward through the engine the way generated layers do
/// (<see cref="ZeroRouting"/>), the step equals plain AdamW's on the whole model, the parameters are empty between steps, and a model
/// whose layers do not route fails with a message naming them. On 2 ranks with the generated models: MpiTrainingTests' plan case.
/// </summary>
public sealed class PlanZero3Tests
{
    private static Tensor Mse(Tensor output, Tensor target) => (output - target).pow(2).mean();

    private static TrainingOptimizer Adam(IEnumerable<Parameter> parameters, OptimizerSettings settings) =>
        new ModelGen.Optimizers.AdamW(parameters, learningRate: 0.01, settings: settings);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_zero_3_plan_with_parameter_offload_steps_as_plain_AdamW_with_the_layers_routed_through_the_engine(bool checkpointed)
    {
        var expected = new RoutedModel(21, checkpointed);
        RoutedModel? actual = null;
        using var training = new PlanTraining(new TrainingPlan(ZeroStage: 3, OffloadParameters: true), SingleProcessGroup.Instance,
            _ => actual = new RoutedModel(21, checkpointed), Adam, Mse, microBatches: 2);
        using var reference = Adam(expected.parameters(), new OptimizerSettings());
        Assert.NotNull(training.Zero);
        Assert.Equal(3, ZeroStage3.RepeatedLayers(actual!).Count);
        // The engine already keeps only a layer's input: the layer's own checkpoint is off while it is attached.
        Assert.All(actual!.Blocks, b => Assert.False(b.CheckpointActivations));
        for (var step = 0; step < 3; step++) {
            using var scope = NewDisposeScope();
            var input = TensorAssert.Randn(100 + step, 8, 6);
            var target = TensorAssert.Randn(200 + step, 8, 3);
            var loss = Mse(expected.call(input), target);
            var lossValue = loss.item<float>();
            loss.backward();
            reference.Step();
            Assert.Equal(lossValue, training.Step(input, target), 5);
            Assert.All(actual.parameters(), p => Assert.Equal(0, p.numel()));
        }
        Assert.True(actual.Blocks.All(b => b.Routed > 0), "every block ran through the ZeRO-3 hook");
        training.Zero!.GatherAll();
        foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(actual.named_parameters()))
            Assert.True(e.allclose(a, rtol: 1e-5, atol: 1e-6), name);
        training.Zero.ReleaseAll();
        training.Dispose();
        Assert.All(actual.Blocks, b => Assert.Equal(checkpointed, b.CheckpointActivations));
    }

    [Fact]
    public void Zero_3_over_one_rank_without_offload_trains_the_whole_model()
    {
        // It partitions nothing (the analyzers' MG0205), so no engine: the memory model counts the whole weights, as this runs.
        RoutedModel? actual = null;
        using var training = new PlanTraining(new TrainingPlan(ZeroStage: 3), SingleProcessGroup.Instance, _ => actual = new RoutedModel(21, false), Adam, Mse);
        Assert.Null(training.Zero);
        training.Step(TensorAssert.Randn(1, 4, 6), TensorAssert.Randn(2, 4, 3));
        Assert.All(actual!.Blocks, b => Assert.Equal(0, b.Routed));
        Assert.All(actual.parameters(), p => Assert.NotEqual(0, p.numel()));
    }

    [Fact]
    public void Whole_weights_load_into_the_partitions()
    {
        var source = new RoutedModel(31, false);
        using var training = new PlanTraining(new TrainingPlan(ZeroStage: 3, OffloadParameters: true), SingleProcessGroup.Instance, _ => new RoutedModel(32, false), Adam, Mse);
        training.Zero!.LoadParameters(source.state_dict());
        training.Zero.GatherAll();
        foreach (var ((name, e), (_, a)) in source.named_parameters().Zip(training.Model.named_parameters()))
            Assert.True(e.equal(a).all().item<bool>(), name);
        training.Zero.ReleaseAll();
    }

    [Fact]
    public void Layers_that_do_not_route_through_the_engine_are_named()
    {
        using var training = new PlanTraining(new TrainingPlan(ZeroStage: 3, OffloadParameters: true), SingleProcessGroup.Instance, _ => new StackModel(5), Adam, Mse);
        var error = Assert.Throws<InvalidOperationException>(() => training.Step(randn(4, 6), randn(4, 3)));
        Assert.Contains("never ran through ZeroStage3.Forward", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(StackBlock), error.Message, StringComparison.Ordinal);
    }

    /// <summary>A block whose forward starts with the line the generator writes into every layer's forward.</summary>
    private sealed class RoutedBlock : nn.Module<Tensor, Tensor>
    {
        private readonly LayerNorm norm;
        private readonly Linear fc;

        public RoutedBlock(bool checkpointed) : base(nameof(RoutedBlock))
        {
            norm = nn.LayerNorm(12);
            fc = nn.Linear(12, 12);
            CheckpointActivations = checkpointed;
            RegisterComponents();
        }

        public bool CheckpointActivations { get; set; }

        public int Routed { get; private set; }

        public override Tensor forward(Tensor x)
        {
            if (ZeroRouting.Routes(this)) { Routed++; return ZeroRouting.Forward(this, x); }
            return CheckpointActivations ? Checkpoint.Run(this, Body, x) : Body(x);
        }

        private Tensor Body(Tensor x) => x + fc.call(nn.functional.gelu(norm.call(x)));
    }

    private sealed class RoutedModel : nn.Module<Tensor, Tensor>
    {
        private readonly Linear input;
        private readonly ModuleList<RoutedBlock> blocks;
        private readonly Linear head;

        public RoutedModel(long seed, bool checkpointed) : base(nameof(RoutedModel))
        {
            input = nn.Linear(6, 12);
            blocks = nn.ModuleList(Enumerable.Range(0, 3).Select(_ => new RoutedBlock(checkpointed)).ToArray());
            head = nn.Linear(12, 3);
            RegisterComponents();
            using var _ = no_grad();
            var i = 0;
            foreach (var parameter in parameters())
                parameter.copy_(TensorAssert.Randn(seed + i++, parameter.shape) * 0.4);
        }

        public ModuleList<RoutedBlock> Blocks => blocks;

        public override Tensor forward(Tensor x)
        {
            x = input.call(x);
            foreach (var block in blocks)
                x = block.call(x);
            return head.call(x);
        }
    }
}
