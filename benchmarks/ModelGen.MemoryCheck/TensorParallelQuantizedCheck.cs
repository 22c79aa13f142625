using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Parallel;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>The tensor-parallel probe's block with its sharded attention and MLP quantized to int8: each rank quantizes its slices.</summary>
[Layer(typeof(ProbeConfig))]
public partial class QuantizedParallelBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial nn.Module<Tensor, Tensor> Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = false, Bias = true), Shard(ShardStyle.Column), Quantize(QuantKind.Int8)]
    public partial nn.Module<Tensor, Tensor> Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial nn.Module<Tensor, Tensor> Ln2 { get; }
    [FeedForward(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn)), Shard(ShardStyle.Column), Quantize(QuantKind.Int8)]
    public partial nn.Module<Tensor, Tensor> Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Mlp.call(Ln2.call(x));
    }
}

/// <summary>The tensor-parallel probe with quantized sharded blocks: vocab-parallel embedding, column-parallel head.</summary>
[Model(typeof(ProbeConfig))]
public partial class QuantizedParallelProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial nn.Module<Tensor, Tensor> Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial TorchSharp.Modules.ModuleList<QuantizedParallelBlock> Blocks { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial nn.Module<Tensor, Tensor> Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>
/// <c>mpirun -np 2 … ModelGen.MemoryCheck tp2-quantized</c>: the generated <see cref="QuantizedParallelProbe"/> per rank (int8
/// attention and MLP projections quantized slice by slice, frozen; biases, norms, embedding and head trained), trained as the
/// tp2 probe (warm-up step, baseline, three steps of ModelGen's AdamW, vocab-parallel cross-entropy), against
/// <c>MemoryModel.Estimate</c> at TensorParallel = 2. Also prints the rank's stored bytes against the estimate's weights term;
/// <c>trace</c> after the mode prints rank 0's stages (resetting its peak at each).
/// </summary>
internal static class TensorParallelQuantizedCheck
{
    /// <summary>The mode, run on 2 ranks.</summary>
    public const string Mode = "tp2-quantized";

    public static void Run(int seq, int batch, int steps, bool trace = false)
    {
        HeapSettings.Apply();
        var world = Distributed.World.Initialize();
        var config = new ProbeConfig();
        var scenario = new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW) { TensorParallel = world.Size };
        var estimate = MemoryModel.Estimate(QuantizedParallelProbe.DescribeModel(config), scenario, DeviceProfile.Cpu);
        var options = new TensorParallelOptions(world, seed: 1) { VocabParallelLogits = true };

        long stored = 0;
        var measured = TensorParallelCheck.Measure(() => new QuantizedParallelProbe(config, tensorParallel: options), options, config, batch, seq, steps,
            trace && world.Rank == 0, model => stored = model.parameters().Sum(p => p.numel() * p.element_size()) + model.buffers().Sum(b => b.numel() * b.element_size()));
        var weights = estimate.Terms.Single(t => t.Name == MemoryTerms.Weights).Bytes;

        Console.WriteLine(CheckRow.Format($"{Mode} rank {world.Rank}", estimate, measured));
        Console.Error.WriteLine($"{Mode} rank {world.Rank}: stored parameters and quantized buffers {stored} B, estimated weights term {weights} B");
    }
}
