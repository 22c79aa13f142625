using System;
using ModelGen.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>Which tiny stack: Llama-like (RMSNorm, GQA with rotary, SwiGLU, no biases) or GPT-2-like (LayerNorm, MHA, GELU, biases).</summary>
    internal enum Flavor { Llama, Gpt2 }

    /// <summary>The tiny stacks' sizes; both tie the output head to the embedding.</summary>
    internal static class TinySizes
    {
        public const long Vocab = 32, Hidden = 32, Heads = 4, Inner = 64, Layers = 2;
        public static long KvHeads(Flavor f) => f == Flavor.Llama ? 2 : Heads;
    }

    /// <summary>The unsharded reference: ModelGen's runtime blocks, names as in Hugging Face layouts.</summary>
    internal sealed class ReferenceLm : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding embed;
        private readonly ModuleList<ReferenceBlock> layers = new();
        private readonly nn.Module<Tensor, Tensor> norm;

        public ReferenceLm(Flavor flavor) : base(nameof(ReferenceLm))
        {
            embed = nn.Embedding(TinySizes.Vocab, TinySizes.Hidden);
            for (var i = 0; i < TinySizes.Layers; i++) layers.Add(new ReferenceBlock(flavor));
            norm = Norm(flavor);
            RegisterComponents();
        }

        internal static nn.Module<Tensor, Tensor> Norm(Flavor flavor) =>
            flavor == Flavor.Llama ? new RmsNorm(TinySizes.Hidden) : nn.LayerNorm(TinySizes.Hidden);

        public override Tensor forward(Tensor tokens)
        {
            var x = embed.call(tokens);
            foreach (var layer in layers) x = layer.call(x);
            return nn.functional.linear(norm.call(x), embed.weight!);
        }

        public Tensor Loss(Tensor tokens, Tensor targets) =>
            nn.functional.cross_entropy(call(tokens).view(-1, TinySizes.Vocab), targets.view(-1));
    }

    internal sealed class ReferenceBlock : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> attn_norm, mlp_norm;
        private readonly Attention attn;
        private readonly FeedForward mlp;

        public ReferenceBlock(Flavor flavor) : base(nameof(ReferenceBlock))
        {
            var llama = flavor == Flavor.Llama;
            attn_norm = ReferenceLm.Norm(flavor);
            attn = new Attention(TinySizes.Hidden, TinySizes.Heads, TinySizes.KvHeads(flavor), rotary: llama, bias: !llama);
            mlp_norm = ReferenceLm.Norm(flavor);
            mlp = new FeedForward(TinySizes.Hidden, TinySizes.Inner, llama ? FeedForwardActivation.SwiGlu : FeedForwardActivation.Gelu, bias: !llama);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            x = x + attn.call(attn_norm.call(x));
            return x + mlp.call(mlp_norm.call(x));
        }
    }

    /// <summary>The same stack from the tensor-parallel modules, built as the generator would emit it: one call per sharded block.</summary>
    internal sealed class ParallelLm : nn.Module<Tensor, Tensor>
    {
        private readonly VocabParallelEmbedding embed;
        private readonly ModuleList<ParallelBlock> layers = new();
        private readonly nn.Module<Tensor, Tensor> norm;
        private readonly TensorParallelOptions _options;

        public ParallelLm(Flavor flavor, TensorParallelOptions options, bool checkpoint = false) : base(nameof(ParallelLm))
        {
            _options = options;
            embed = new VocabParallelEmbedding(TinySizes.Vocab, TinySizes.Hidden, options, "embed");
            for (var i = 0; i < TinySizes.Layers; i++) layers.Add(new ParallelBlock(flavor, options, $"layers.{i}", checkpoint));
            norm = Norm(flavor, options);
            RegisterComponents();
        }

        internal static nn.Module<Tensor, Tensor> Norm(Flavor flavor, TensorParallelOptions options) =>
            flavor == Flavor.Llama ? new ParallelRmsNorm(TinySizes.Hidden, options) : new ParallelLayerNorm(TinySizes.Hidden, options);

        /// <summary>This rank's logits, <c>[batch, seq, V/t]</c>.</summary>
        public override Tensor forward(Tensor tokens)
        {
            var x = embed.call(tokens);
            foreach (var layer in layers) x = layer.call(x);
            return embed.Logits(norm.call(x));
        }

        public Tensor Loss(Tensor tokens, Tensor targets) =>
            VocabParallelCrossEntropy.Loss(call(tokens), targets, embed.VocabularyStart, _options.Group).mean();
    }

    internal sealed class ParallelBlock : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> attn_norm, mlp_norm;
        private readonly TensorParallelAttention attn;
        private readonly TensorParallelFeedForward mlp;
        private readonly bool _checkpoint;

        public ParallelBlock(Flavor flavor, TensorParallelOptions options, string name, bool checkpoint) : base(nameof(ParallelBlock))
        {
            var llama = flavor == Flavor.Llama;
            _checkpoint = checkpoint;
            attn_norm = ParallelLm.Norm(flavor, options);
            attn = new TensorParallelAttention(TinySizes.Hidden, TinySizes.Heads, TinySizes.KvHeads(flavor), options, name + ".attn", rotary: llama, bias: !llama);
            mlp_norm = ParallelLm.Norm(flavor, options);
            mlp = new TensorParallelFeedForward(TinySizes.Hidden, TinySizes.Inner, llama ? FeedForwardActivation.SwiGlu : FeedForwardActivation.Gelu, options, name + ".mlp", bias: !llama);
            RegisterComponents();
        }

        // Checkpointed, the recompute in backward issues the block's collectives again, in the same order on every rank.
        public override Tensor forward(Tensor x) => _checkpoint ? Checkpoint.Run(this, Body, x) : Body(x);

        private Tensor Body(Tensor x)
        {
            x = x + attn.call(attn_norm.call(x));
            return x + mlp.call(mlp_norm.call(x));
        }
    }
}
