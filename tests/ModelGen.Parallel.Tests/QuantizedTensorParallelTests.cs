using ModelGen.Distributed.Tests;

namespace ModelGen.Parallel.Tests;

/// <summary>
/// Sharded and quantized blocks, and per-block sliding windows, at degree 2 and 4 under mpirun (docs/tensor-parallel.md,
/// "Quantized blocks and per-block windows"): quantized-blocks (TensorParallelAttention and TensorParallelFeedForward with int8,
/// int4 and NF4 projections against the unsharded block quantized slice by slice, with and without checkpointing and sequence
/// parallelism), generated-quantized (a generated QLoRA-style Llama: logits, gradients, greedy decoding, per-rank stored bytes
/// and KV cache equal to the memory model), generated-window (a generated decoder whose sharded attention has a per-block
/// SlidingWindow: training and cached decoding equal to the whole model, the per-rank KV cache equal to the estimate).
/// </summary>
public sealed class QuantizedTensorParallelTests
{
    private static readonly string[] Cases = { "quantized-blocks", "generated-quantized", "generated-window" };

    [Fact]
    public void Degree_2_quantized_and_windowed_blocks_equal_their_references()
    {
        var job = MpiJob.Launch(2, Cases, timeoutSeconds: 600);
        JobAssert.EveryRankPassed(job, 2, Cases);
    }

    [Fact]
    public void Degree_4_quantized_and_windowed_blocks_equal_their_references()
    {
        var job = MpiJob.Launch(4, Cases, timeoutSeconds: 600);
        JobAssert.EveryRankPassed(job, 4, Cases);
    }
}
