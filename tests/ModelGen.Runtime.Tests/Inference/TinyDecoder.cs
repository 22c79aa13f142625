using System.Collections.Generic;
using ModelGen.Inference;
using ModelGen.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Inference
{
    /// <summary>
    /// A two-layer Llama-style decoder from ModelGen's blocks (rotary, grouped-query attention 4/2, SwiGLU), with an uncached
    /// forward over the whole sequence and the cached forward <see cref="ICachedLanguageModel"/> asks for: the shape a generated
    /// model's Generate support takes.
    /// </summary>
    internal sealed class TinyDecoder : nn.Module<Tensor, Tensor>, ICachedLanguageModel
    {
        public const long Vocab = 50, Hidden = 32, Heads = 4, KvHeads = 2;

        private readonly Embedding embed;
        private readonly ModuleList<Block> blocks;
        private readonly RmsNorm norm;
        private readonly Linear head;

        public TinyDecoder(long seed, int layers = 2, bool int8Cache = false, long? slidingWindow = null) : base(nameof(TinyDecoder))
        {
            manual_seed(seed);
            embed = nn.Embedding(Vocab, Hidden);
            var list = new List<Block>();
            for (int i = 0; i < layers; i++)
                list.Add(new Block());
            blocks = nn.ModuleList(list.ToArray());
            norm = new RmsNorm(Hidden);
            head = nn.Linear(Hidden, Vocab, hasBias: false);
            Int8Cache = int8Cache;
            SlidingWindow = slidingWindow;
            RegisterComponents();
            eval();
        }

        public bool Int8Cache { get; }

        public long? SlidingWindow { get; }


        public override Tensor forward(Tensor tokens)
        {
            using var scope = NewDisposeScope();
            var x = embed.call(tokens);
            foreach (var block in blocks)
                x = block.call(x);
            return scope.MoveToOuter(head.call(norm.call(x)));
        }

        public KvCacheOptions CacheOptions(long batch, long maxLength) => new()
        {
            Layers = blocks.Count, Batch = batch, KvHeads = KvHeads, HeadDim = Hidden / Heads, MaxLength = maxLength,
            Int8 = Int8Cache, SlidingWindow = SlidingWindow,
        };

        public Tensor Forward(Tensor tokens, KvCache cache, Tensor positions, Tensor padding)
        {
            using var scope = NewDisposeScope();
            var x = embed.call(tokens);
            for (int i = 0; i < blocks.Count; i++)
                x = blocks[i].Forward(x, cache.Layer(i), positions, padding);
            return scope.MoveToOuter(head.call(norm.call(x)));
        }

        internal sealed class Block : nn.Module<Tensor, Tensor>
        {
            private readonly RmsNorm attn_norm = new(Hidden);
            private readonly Attention attn = new(Hidden, Heads, KvHeads, rotary: true);
            private readonly RmsNorm mlp_norm = new(Hidden);
            private readonly FeedForward mlp = new(Hidden, 64, FeedForwardActivation.SwiGlu, bias: false);

            public Block() : base(nameof(Block)) => RegisterComponents();

            public Attention Attn => attn;

            public override Tensor forward(Tensor x)
            {
                x = x + attn.call(attn_norm.call(x));
                return x + mlp.call(mlp_norm.call(x));
            }

            public Tensor Forward(Tensor x, KvCacheLayer cache, Tensor? positions, Tensor? padding)
            {
                x = x + attn.forward(attn_norm.call(x), cache, positions, padding);
                return x + mlp.call(mlp_norm.call(x));
            }
        }
    }
}
