using System.Collections.Generic;
using System.Linq;
using ModelGen.Nn;
using ModelGen.Parallel;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Inference
{
    public static partial class CachedDecoding
    {
        /// <summary>
        /// The modules that write a cache layer, in registration order: causal <see cref="Attention"/> blocks, and the causal
        /// <see cref="TensorParallelAttention"/> blocks of a model built with tensor-parallel options, whose cache layer holds only
        /// this rank's key/value heads (<see cref="TensorParallelAttention.LocalKvHeads"/>: the memory model's <c>max(kvHeads/t, 1)</c>).
        /// </summary>
        /// <exception cref="System.InvalidOperationException">A tensor-parallel block built with sequence parallelism: a decoding step of
        /// one token cannot be split along the sequence (refused here, before the embedding would try to).</exception>
        private static List<CacheWriter> CacheWriters(nn.Module model) =>
            model.modules().Select(m => m switch
            {
                Attention { Causal: true } a => new CacheWriter(a.KvHeads, a.HeadDim, a.ProjectionDtype, a.ProjectionDevice, call => a.Binding = call),
                TensorParallelAttention { Causal: true, Options: { SequenceParallel: true, Degree: > 1 } } =>
                    throw new System.InvalidOperationException(TensorParallelAttention.SequenceParallelDecoding),
                TensorParallelAttention { Causal: true } p => new CacheWriter(p.LocalKvHeads, p.HeadDim, p.ProjectionDtype, p.ProjectionDevice, call => p.Binding = call),
                _ => null,
            }).OfType<CacheWriter>().ToList();

        /// <summary>One cache layer's writer: its sizes and how to bind it to its layer for a cached forward.</summary>
        private sealed record CacheWriter(long KvHeads, long HeadDim, ScalarType Dtype, Device Device, System.Action<CachedCall?> Bind);
    }
}
