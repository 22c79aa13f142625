using System.Linq;

namespace ModelGen.Generators.Tests;

/// <summary>
/// [Shard] + [Quantize] on Attention and FeedForward blocks, and a per-block SlidingWindow on a sharded Attention (docs/tensor-parallel.md,
/// "Quantized blocks and per-block windows"): with options the blocks are TensorParallelAttention / TensorParallelFeedForward with
/// <c>quantize:</c> and <c>SlidingWindow</c>, without them the plain quantized or windowed blocks. Approved as a snapshot, compiled
/// without warnings.
/// </summary>
public class ShardQuantizedSnapshotTests
{
    private const string Source = """
        [Layer(typeof(Cfg))]
        public partial class TqBlock
        {
            [RmsNorm(nameof(Cfg.Hidden))] public partial nn.Module<Tensor, Tensor> AttnNorm { get; }
            [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads), Rotary = true, SlidingWindow = 256), Shard(ShardStyle.Column), Quantize(QuantKind.NF4, GroupSize = 64, DoubleQuant = true)]
            public partial nn.Module<Tensor, Tensor> Attn { get; }
            [RmsNorm(nameof(Cfg.Hidden))] public partial nn.Module<Tensor, Tensor> MlpNorm { get; }
            [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false), Shard(ShardStyle.Column), Quantize(QuantKind.Int4, GroupSize = 32)]
            public partial nn.Module<Tensor, Tensor> Mlp { get; }

            private Tensor Forward(Tensor x)
            {
                x = x + Attn.call(AttnNorm.call(x));
                return x + Mlp.call(MlpNorm.call(x));
            }
        }
        """;

    [Fact]
    public void Sharded_quantized_and_windowed_blocks_match_their_snapshot_and_compile()
    {
        var (result, output) = GeneratorHarness.Run(Cases.Usings + Source);
        var module = result.Results.Single().GeneratedSources.Single(s => s.HintName.StartsWith("Demo.TqBlock.", System.StringComparison.Ordinal)
            && !s.HintName.Contains(".Inference.", System.StringComparison.Ordinal));
        var text = module.SourceText.ToString();
        Assert.Contains("new global::ModelGen.Parallel.TensorParallelAttention(", text, System.StringComparison.Ordinal);
        Assert.Contains("quantize: new global::ModelGen.Quantization.ProjectionQuantization(global::ModelGen.QuantKind.NF4, 64, true)) { SlidingWindow = 256 }", text, System.StringComparison.Ordinal);
        Snapshot.Match("ShardedQuantized.TqBlock", text);
        var problems = GeneratorHarness.Problems(output);
        if (problems.Count > 0)
            Assert.Fail(string.Join("\n", problems));
    }
}
