using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>Well-known architectures written as the specs the parser produces (see ModelSpecBuilder / SpecEmitter).</summary>
    internal static class Models
    {
        public static Dim D(string member, long value) => new(member, value);

        public static LayerSpec Layer(string name, bool isModel, params BlockSpec[] blocks) =>
            new("Demo", name, "global::Demo." + name, "public", "global::Demo.Cfg", isModel, blocks.ToEquatableArray(), new ForwardSpec("Forward", "x"));

        public static ModelSpec Model(LayerSpec root, params LayerSpec[] layers) => new(root, layers.ToEquatableArray());

        /// <summary>A GPT layer as in Korthikanti et al. 2022 (§4.1): pre-norm, eager attention with dropout, GELU MLP, two output dropouts.</summary>
        public static LayerSpec GptBlock(long hidden, long heads, bool fused = false, double dropout = 0.1, bool shard = false, CheckpointMode checkpoint = CheckpointMode.None)
        {
            var style = shard ? ShardStyle.Column : ShardStyle.None;
            return Layer("GptBlock", false,
                new LayerNormSpec("Ln1", "ln_1", D("Hidden", hidden), 1e-5, true),
                new AttentionSpec("Attn", "attn", D("Hidden", hidden), D("Heads", heads), D("Heads", heads), true, false, 10000, fused, true, dropout) { Shard = style },
                new DropoutSpec("AttnDrop", "attn_drop", dropout),
                new LayerNormSpec("Ln2", "ln_2", D("Hidden", hidden), 1e-5, true),
                new FeedForwardSpec("Mlp", "mlp", D("Hidden", hidden), D("Ffn", 4 * hidden), FeedForwardActivation.Gelu, true) { Shard = style },
                new DropoutSpec("MlpDrop", "mlp_drop", dropout)) with { Checkpoint = checkpoint };
        }

        /// <summary>GPT-2 small (Radford et al. 2019): 12 layers, 768 wide, 12 heads, 50257 tokens, 1024 positions, tied head.</summary>
        public static ModelSpec Gpt2Small(DType? precision = null)
        {
            var root = Layer("Gpt2", true,
                new EmbeddingSpec("Wte", "wte", D("Vocab", 50257), D("Hidden", 768)),
                new EmbeddingSpec("Wpe", "wpe", Dim.Literal(1024), D("Hidden", 768)),
                new StackSpec("H", "h", D("Layers", 12), "global::Demo.GptBlock", 0),
                new LayerNormSpec("LnF", "ln_f", D("Hidden", 768), 1e-5, true),
                new LinearSpec("LmHead", "lm_head", D("Hidden", 768), D("Vocab", 50257), false) { TiedTo = "Wte" }) with { Precision = precision };
            return Model(root, GptBlock(768, 12, fused: true));
        }

        /// <summary>Llama-3-8B (Meta 2024): 32 layers, 4096 wide, 32 heads, 8 KV heads, SwiGLU 14336, 128256 tokens, untied head.</summary>
        public static ModelSpec Llama3_8B(DType precision = DType.BFloat16, CheckpointMode checkpoint = CheckpointMode.None, int every = 0)
        {
            var root = Layer("Llama", true,
                new EmbeddingSpec("Embed", "embed_tokens", D("Vocab", 128256), D("Hidden", 4096)),
                new StackSpec("Blocks", "layers", D("Layers", 32), "global::Demo.DecoderBlock", every),
                new RmsNormSpec("Norm", "norm", D("Hidden", 4096), 1e-5),
                new LinearSpec("Head", "lm_head", D("Hidden", 4096), D("Vocab", 128256), false)) with { Precision = precision };
            var block = Layer("DecoderBlock", false,
                new RmsNormSpec("AttnNorm", "input_layernorm", D("Hidden", 4096), 1e-5),
                new AttentionSpec("Attn", "self_attn", D("Hidden", 4096), D("Heads", 32), D("KvHeads", 8), true, true, 500000, true, false, 0),
                new RmsNormSpec("MlpNorm", "post_attention_layernorm", D("Hidden", 4096), 1e-5),
                new FeedForwardSpec("Mlp", "mlp", D("Hidden", 4096), D("Ffn", 14336), FeedForwardActivation.SwiGlu, false)) with { Checkpoint = checkpoint };
            return Model(root, block);
        }

        public static ScenarioSpec Training(long seq, long batch = 1, Optimizer optimizer = Optimizer.AdamW) => new(24, Workload.Training, seq, batch, optimizer);

        public static ScenarioSpec Inference(long seq, long batch = 1) => new(24, Workload.Inference, seq, batch, Optimizer.AdamW);
    }
}
