using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// An output head tied to a <see cref="VocabParallelEmbedding"/> (<c>[TiedTo]</c> in generated code): it holds the embedding's
    /// own weight slice (one tensor, registered under both names as an unsharded tie is) and computes <see cref="VocabParallelEmbedding.Logits"/>,
    /// optionally gathered to all <c>V</c> logits so the model's output is the unsharded head's.
    /// </summary>
    public sealed class VocabParallelHead : nn.Module<Tensor, Tensor>, ITensorParallelModule
    {
        private readonly Parameter weight;
        private readonly Dictionary<string, ShardSpec> _shards = new();

        /// <summary>Ties a head to <paramref name="embedding"/>.</summary>
        /// <param name="embedding">The vocab-parallel embedding whose rows are the head's.</param>
        /// <param name="gatherOutput">All-gather the logits' last dimension, so every rank gets <c>[..., V]</c>.</param>
        public VocabParallelHead(VocabParallelEmbedding embedding, bool gatherOutput = true) : base(nameof(VocabParallelHead))
        {
            ArgumentNullException.ThrowIfNull(embedding);
            Options = embedding.Options;
            GatherOutput = gatherOutput;
            VocabularyStart = embedding.VocabularyStart;
            weight = embedding.Weight;
            _shards["weight"] = embedding.Shards["weight"];
            RegisterComponents();
        }

        /// <summary>The embedding's options.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Whether the logits are gathered to full width.</summary>
        public bool GatherOutput { get; }

        /// <summary>The first token id of this rank's logits (for <see cref="VocabParallelCrossEntropy.Loss"/> without gathering).</summary>
        public long VocabularyStart { get; }

        /// <inheritdoc/>
        public IReadOnlyDictionary<string, ShardSpec> Shards => _shards;

        /// <summary>This rank's logits, gathered when <see cref="GatherOutput"/> is set.</summary>
        /// <param name="input"><c>[batch, seq, hidden]</c>, or <c>[batch, seq/t, hidden]</c> with sequence parallelism.</param>
        /// <returns><c>[batch, seq, V/t]</c>, or <c>[batch, seq, V]</c> gathered.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            var logits = Options.SequenceParallel
                ? GatheredLinearFunction.Apply(input, new Tensor[] { weight }, new Tensor?[] { null }, Options.Group)
                : nn.functional.linear(ColumnParallelLinear.Enter(input, Options), weight);
            return scope.MoveToOuter(GatherOutput ? TensorParallelRegion.GatherLastDim(logits, Options.Group) : logits);
        }
    }
}
