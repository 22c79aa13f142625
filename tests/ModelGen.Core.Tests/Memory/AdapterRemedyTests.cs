using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using Xunit.Abstractions;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>The remedy search proposes 8-bit states, LoRA and QLoRA, each re-estimated by the memory model, only where the runtime runs them.</summary>
    public class AdapterRemedyTests
    {
        private readonly ITestOutputHelper _output;

        public AdapterRemedyTests(ITestOutputHelper output) => _output = output;

        /// <summary>Llama-3-8B as DESIGN.md writes it: an Attention block and gate/up/down as [Linear] blocks (which can be quantized).</summary>
        public static ModelSpec Llama3_8BLinearMlp()
        {
            var llama = Llama3_8B();
            var block = Layer("DecoderBlock", false,
                new RmsNormSpec("AttnNorm", "input_layernorm", D("Hidden", 4096), 1e-5),
                new AttentionSpec("Attn", "self_attn", D("Hidden", 4096), D("Heads", 32), D("KvHeads", 8), true, true, 500000, true, false, 0),
                new RmsNormSpec("MlpNorm", "post_attention_layernorm", D("Hidden", 4096), 1e-5),
                new LinearSpec("Gate", "gate_proj", D("Hidden", 4096), D("Ffn", 14336), false),
                new LinearSpec("Up", "up_proj", D("Hidden", 4096), D("Ffn", 14336), false),
                new LinearSpec("Down", "down_proj", D("Ffn", 14336), D("Hidden", 4096), false));
            return llama with { Layers = new[] { block }.ToEquatableArray() };
        }

        [Fact]
        public void Qlora_r16_on_attention_and_mlp_fits_llama3_8b_training_in_24_gb()
        {
            var model = Llama3_8BLinearMlp();
            var scenario = Training(2048);
            var budget = 24 * Gigabytes.Bytes;
            var remedies = Remedies.Find(model, scenario, budget);
            foreach (var r in remedies)
                _output.WriteLine($"{r.Kind} fits={r.Fits} {Breakdown.Gigabytes(r.PeakBytes)} GB: {r.Description}");

            var qlora = remedies.Single(r => r.Kind == RemedyKind.QLora);
            Assert.True(qlora.Fits);
            Assert.Equal("DecoderBlock", qlora.TargetLayer);
            Assert.Equal("q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", qlora.TargetBlock);
            Assert.StartsWith("QLoRA r=16 on attention and MLP", qlora.Description);
            Assert.EndsWith($"fits 24 GB with {Breakdown.Gigabytes(budget - qlora.PeakBytes)} GB headroom", qlora.Description);
            // The plan is the one the memory model re-estimates: the model's own [LoRA] and NF4 gate/up/down.
            Assert.Equal(qlora.PeakBytes, MemoryModel.Estimate(qlora.Model, qlora.Scenario).PeakBytes);
            Assert.Equal(32L * 16 * 81920, MemoryModel.Estimate(qlora.Model, qlora.Scenario).TrainableParameterCount);
            Assert.All(qlora.Model.Layers.Single().Blocks.OfType<LinearSpec>(), b => Assert.Equal(QuantKind.NF4, b.Quant!.Kind));
            Assert.Equal(QuantKind.NF4, qlora.Model.Layers.Single().Blocks.OfType<AttentionSpec>().Single().Quant!.Kind); // issue 13: attention too
            Assert.Contains("DecoderBlock's Linear and Attention blocks in NF4", qlora.Description);

            var lora = remedies.Single(r => r.Kind == RemedyKind.Lora);
            Assert.True(lora.PeakBytes > qlora.PeakBytes);
            Assert.Contains(remedies, r => r.Kind == RemedyKind.Adam8BitStates);
        }

        [Fact]
        public void No_adapter_remedy_where_the_runtime_cannot_run_it()
        {
            var model = Llama3_8BLinearMlp();
            var budget = 24 * Gigabytes.Bytes;
            // Inference, tensor parallelism and ZeRO: none of the three.
            Assert.DoesNotContain(Remedies.Find(model, Inference(2048), budget), IsAdapter);
            Assert.DoesNotContain(Remedies.Find(model, Training(2048) with { TensorParallel = 2 }, budget), IsAdapter);
            Assert.DoesNotContain(Remedies.Find(model, Training(2048) with { DataParallel = 2, ZeroStage = 1 }, budget), IsAdapter);
            // A model that already has adapters is not offered them again.
            var adapted = model with { Root = model.Root with { Lora = new LoraSpec(8, 16, 0, EquatableArray.Create("q_proj")) } };
            Assert.DoesNotContain(Remedies.Find(adapted, Training(2048), budget), r => r.Kind is RemedyKind.Lora or RemedyKind.QLora);
            // Sharded Attention / FeedForward blocks keep dense projections (MG0307): QLoRA does not quantize them.
            var sharded = Llama3_8B();
            sharded = sharded with { Layers = new[] { sharded.Layers[0] with { Blocks = sharded.Layers[0].Blocks.Select(b => b is AttentionSpec or FeedForwardSpec ? b with { Shard = ShardStyle.Column } : b).ToEquatableArray() } }.ToEquatableArray() };
            Assert.DoesNotContain(Remedies.Find(sharded, Training(2048), budget), r => r.Kind == RemedyKind.QLora);
        }

        [Fact]
        public void Qlora_quantizes_attention_and_feed_forward_blocks_of_llama3_8b()
        {
            // The Llama of DESIGN.md with its MLP as a FeedForward block: since issue 13 its projections can be NF4 too.
            var budget = 24 * Gigabytes.Bytes;
            var qlora = Remedies.Find(Llama3_8B(), Training(2048), budget).Single(r => r.Kind == RemedyKind.QLora);
            _output.WriteLine($"{Breakdown.Gigabytes(qlora.PeakBytes)} GB: {qlora.Description}");
            // Without checkpointing it needs 24.5 GB at seq 2048 (the SwiGLU activations), so it does not fit alone, but it is offered
            // and is far below plain LoRA.
            Assert.Contains("DecoderBlock's Attention and FeedForward blocks in NF4", qlora.Description);
            Assert.True(qlora.PeakBytes < Remedies.Find(Llama3_8B(), Training(2048), budget).Single(r => r.Kind == RemedyKind.Lora).PeakBytes - (8 * Gigabytes.Bytes));
            var blocks = qlora.Model.Layers.Single().Blocks;
            Assert.Equal(QuantKind.NF4, blocks.OfType<AttentionSpec>().Single().Quant!.Kind);
            Assert.Equal(QuantKind.NF4, blocks.OfType<FeedForwardSpec>().Single().Quant!.Kind);
            Assert.Equal(qlora.PeakBytes, MemoryModel.Estimate(qlora.Model, qlora.Scenario).PeakBytes);
            Assert.Equal(32L * 16 * 81920, MemoryModel.Estimate(qlora.Model, qlora.Scenario).TrainableParameterCount);
        }

        private static bool IsAdapter(Remedy r) => r.Kind is RemedyKind.Adam8BitStates or RemedyKind.Lora or RemedyKind.QLora;
    }
}
