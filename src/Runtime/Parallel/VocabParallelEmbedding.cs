using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// A token embedding whose vocabulary rows are split across the tensor-parallel ranks (Shoeybi et al. 2019, §3, "input
    /// embedding"): rank <c>i</c> holds rows <c>[i·V/t, (i+1)·V/t)</c>, looks up the tokens that fall in them, writes zeros for the
    /// others, and an all-reduce (a reduce-scatter to sequence shards with sequence parallelism) sums the ranks' parts.
    /// </summary>
    /// <remarks>
    /// The vocabulary must be a multiple of the degree: ModelGen refuses an uneven split at construction instead of padding it
    /// as Megatron does, so the state_dict keeps the checkpoint's own vocabulary size and no padded logit ever needs masking.
    /// Pad the vocabulary in the model's config when the degree does not divide it.
    /// <see cref="Logits"/> is the tied output head in the same vocab-parallel form: this rank's <c>V/t</c> logits.
    /// </remarks>
    public sealed class VocabParallelEmbedding : nn.Module<Tensor, Tensor>, ITensorParallelModule
    {
        private readonly Parameter weight;
        private readonly Dictionary<string, ShardSpec> _shards = new();

        /// <summary>Creates this rank's rows, drawn N(0, 1) as nn.Embedding's are, by <see cref="ShardedInit"/>.</summary>
        /// <param name="vocabulary">Rows of the full table; the degree must divide it.</param>
        /// <param name="hidden">Embedding width.</param>
        /// <param name="options">Tensor-parallel group, sequence parallelism, seed.</param>
        /// <param name="name">State_dict path; seeds the initialization.</param>
        /// <param name="dtype">Element type.</param>
        /// <param name="device">Device.</param>
        /// <exception cref="ArgumentException">The degree does not divide <paramref name="vocabulary"/>.</exception>
        public VocabParallelEmbedding(long vocabulary, long hidden, TensorParallelOptions options, string name, ScalarType? dtype = null, Device? device = null)
            : base(nameof(VocabParallelEmbedding))
        {
            ArgumentNullException.ThrowIfNull(options);
            options.RequireDivisible(vocabulary, $"the vocabulary of '{name}'", $"pad the vocabulary to a multiple of {options.Degree} in the model's config");
            Options = options;
            Vocabulary = vocabulary;
            Hidden = hidden;
            var shard = Shard.Even(0, vocabulary, options.Rank, options.Degree);
            VocabularyStart = shard.Start;
            weight = new Parameter(ShardedInit.Normal(vocabulary, hidden, shard, options.SeedFor(name), dtype, device));
            _shards["weight"] = shard;
            RegisterComponents();
        }

        /// <summary>The options the layer was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Rows of the full table.</summary>
        public long Vocabulary { get; }

        /// <summary>Embedding width.</summary>
        public long Hidden { get; }

        /// <summary>The first token id this rank holds.</summary>
        public long VocabularyStart { get; }

        /// <summary>Tokens this rank holds.</summary>
        public long LocalVocabulary => Vocabulary / Options.Degree;

        /// <summary>This rank's rows, <c>[V/t, hidden]</c>.</summary>
        public Parameter Weight => weight;

        /// <inheritdoc/>
        public IReadOnlyDictionary<string, ShardSpec> Shards => _shards;

        /// <summary>Embeds token ids.</summary>
        /// <param name="input">Token ids, <c>[batch, seq]</c> (int64), the same on every rank of the group.</param>
        /// <returns><c>[batch, seq, hidden]</c>, or <c>[batch, seq/t, hidden]</c> with sequence parallelism.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            var outside = input.lt(VocabularyStart).logical_or(input.ge(VocabularyStart + LocalVocabulary));
            var local = (input - VocabularyStart).masked_fill(outside, 0);
            var shape = input.shape.Append(Hidden).ToArray();
            var partial = weight.index_select(0, local.flatten()).view(shape).masked_fill(outside.unsqueeze(-1), 0);
            var output = Options.SequenceParallel
                ? TensorParallelRegion.ScatterSequence(partial, Options.Group)
                : TensorParallelRegion.ReduceFrom(partial, Options.Group);
            return scope.MoveToOuter(output);
        }

        /// <summary>
        /// The tied output head: this rank's logits <c>h Eᵢᵀ</c> for its vocabulary rows. Feed them to
        /// <see cref="VocabParallelCrossEntropy"/>; no rank ever holds all <c>V</c> logits.
        /// </summary>
        /// <param name="hidden"><c>[batch, seq, hidden]</c> (or <c>[batch, seq/t, hidden]</c> with sequence parallelism).</param>
        /// <returns><c>[batch, seq, V/t]</c>.</returns>
        public Tensor Logits(Tensor hidden)
        {
            ArgumentNullException.ThrowIfNull(hidden);
            using var scope = NewDisposeScope();
            var logits = Options.SequenceParallel
                ? GatheredLinearFunction.Apply(hidden, new Tensor[] { weight }, new Tensor?[] { null }, Options.Group)
                : nn.functional.linear(ColumnParallelLinear.Enter(hidden, Options), weight);
            return scope.MoveToOuter(logits);
        }
    }
}
