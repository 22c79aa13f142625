using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    public class FitAndRemedyTests
    {
        private static long Peak(ModelSpec model, ScenarioSpec scenario) => MemoryModel.Estimate(model, scenario).PeakBytes;

        [Fact]
        public void Max_sequence_length_is_the_largest_that_fits()
        {
            var model = Gpt2Small(DType.BFloat16);
            var scenario = Training(1024, 4);
            var budget = 12 * Gigabytes.Bytes;
            var longest = Fit.MaxSequenceLength(model, scenario, budget);
            Assert.True(longest > 1);
            Assert.True(Peak(model, scenario with { SequenceLength = longest }) <= budget);
            Assert.True(Peak(model, scenario with { SequenceLength = longest + 1 }) > budget);
        }

        [Fact]
        public void Max_batch_is_the_largest_that_fits()
        {
            var model = Gpt2Small(DType.BFloat16);
            var scenario = Training(1024, 4);
            var budget = 24 * Gigabytes.Bytes;
            var largest = Fit.MaxBatch(model, scenario, budget);
            Assert.True(largest > 1);
            Assert.True(Peak(model, scenario with { Batch = largest }) <= budget);
            Assert.True(Peak(model, scenario with { Batch = largest + 1 }) > budget);
        }

        [Fact]
        public void Nothing_fits_a_budget_below_the_weights()
        {
            Assert.Equal(0, Fit.MaxSequenceLength(Llama3_8B(), Training(8192), 10 * Gigabytes.Bytes));
            Assert.Equal(0, Fit.MaxBatch(Llama3_8B(), Inference(8192), 10 * Gigabytes.Bytes));
        }

        [Fact]
        public void A_model_that_fits_any_length_stops_at_the_search_limit()
        {
            var model = Model(Layer("Tiny", true, new LinearSpec("P", "p", D("H", 4), D("H", 4), false)));
            Assert.Equal(Fit.MaxSearchedBatch, Fit.MaxBatch(model, Inference(1), long.MaxValue / 4, DeviceProfile.Cpu));
        }

        [Theory]
        [InlineData(1L)]
        [InlineData(7L)]
        [InlineData(64L)]
        public void Peak_grows_with_sequence_length_and_batch(long step)
        {
            var model = Gpt2Small();
            var scenario = Training(256, 2);
            Assert.True(Peak(model, scenario with { SequenceLength = 256 + step }) >= Peak(model, scenario));
            Assert.True(Peak(model, scenario with { Batch = 2 + step }) >= Peak(model, scenario));
        }

        [Fact]
        public void Remedies_that_say_they_fit_do_fit_and_come_first_cheapest_first()
        {
            var model = Llama3_8B();
            var scenario = Training(8192) with { DataParallel = 8 };
            // Every phase of a steady-state step holds the 16 GB of bf16 gradients (TorchSharp zeroes them in place), so 105 GB.
            var budget = 105 * Gigabytes.Bytes;
            var remedies = Remedies.Find(model, scenario, budget);
            var before = Peak(model, scenario);
            Assert.NotEmpty(remedies);
            Assert.Contains(remedies, r => r.Fits);
            foreach (var remedy in remedies)
            {
                var peak = Peak(remedy.Model, remedy.Scenario);
                Assert.Equal(peak, remedy.PeakBytes);
                Assert.Equal(before - peak, remedy.SavingBytes);
                Assert.True(remedy.SavingBytes > 0, remedy.Description);
                Assert.Equal(peak <= budget, remedy.Fits);
            }
            var fitting = remedies.TakeWhile(r => r.Fits).ToList();
            Assert.True(remedies.Skip(fitting.Count).All(r => !r.Fits));
            Assert.Equal(fitting.Select(r => r.Kind).OrderBy(k => k), fitting.Select(r => r.Kind));
            // ZeRO-3 over the 8 ranks already there is cheaper than moving the optimizer to the host; both fit.
            Assert.Equal(RemedyKind.ZeroStage, fitting[0].Kind);
            Assert.Equal(3, fitting[0].Degree);
            Assert.Contains(fitting, r => r.Kind == RemedyKind.OffloadOptimizer);
        }

        [Fact]
        public void Checkpointing_the_stack_is_offered_with_its_target()
        {
            var remedies = Remedies.Find(Llama3_8B(), Training(8192), 24 * Gigabytes.Bytes);
            var stack = remedies.Single(r => r.Kind == RemedyKind.CheckpointStack);
            Assert.Equal("Llama", stack.TargetLayer);
            Assert.Equal("Blocks", stack.TargetBlock);
            Assert.Equal(1, stack.Model.Root.Blocks.OfType<StackSpec>().Single().CheckpointEvery);
            Assert.Contains(remedies, r => r.Kind == RemedyKind.CheckpointLayer && r.TargetLayer == "DecoderBlock");
            Assert.Contains(remedies, r => r.Kind == RemedyKind.OffloadOptimizer);
            // No remedy fits: an 8B model's AdamW state alone exceeds 24 GB.
            Assert.DoesNotContain(remedies, r => r.Fits);
        }

        [Fact]
        public void ZeRO_stage_3_is_offered_for_stacked_layers_with_one_input_and_with_several()
        {
            var scenario = Training(8192) with { DataParallel = 2 };
            var plain = Llama3_8B();
            Assert.True(RuntimeSupport.RunsZeroStage3(plain));
            Assert.Contains(Remedies.Find(plain, scenario, 24 * Gigabytes.Bytes), r => r.Kind == RemedyKind.ZeroStage && r.Degree == 3);

            // The same model whose decoder block takes a mask beside its input: the engine routes it too (docs/distributed.md).
            var block = plain.Layers.Single();
            var masked = plain with
            {
                Layers = EquatableArray.Create(block with
                {
                    Forward = new ForwardSpec("Forward", "x") { Inputs = EquatableArray.Create(new ForwardInput("x", false, false), new ForwardInput("mask", true, true)) },
                }),
            };
            Assert.True(RuntimeSupport.RunsZeroStage3(masked));
            var remedies = Remedies.Find(masked, scenario, 24 * Gigabytes.Bytes);
            Assert.Contains(remedies, r => r.Kind == RemedyKind.ZeroStage && r.Degree == 3);
        }

        [Fact]
        public void Quantizing_a_layer_sets_the_quantization_on_its_linear_blocks()
        {
            // Four layers, so the weights saved outweigh the one dequantized weight a quantized Linear rebuilds while it runs.
            var model = Model(Layer("Mlp", true,
                new LinearSpec("Up", "up", D("H", 4096), D("F", 16384), false),
                new LinearSpec("Down", "down", D("F", 16384), D("H", 4096), false),
                new LinearSpec("Up2", "up2", D("H", 4096), D("F", 16384), false),
                new LinearSpec("Down2", "down2", D("F", 16384), D("H", 4096), false)) with { Precision = DType.BFloat16 });
            var remedies = Remedies.Find(model, Inference(128), 100 * Gigabytes.MegabyteBytes);
            var nf4 = remedies.Single(r => r.Kind == RemedyKind.QuantizeNF4);
            Assert.All(nf4.Model.Root.Blocks, b => Assert.Equal(QuantKind.NF4, b.Quant!.Kind));
            Assert.True(nf4.SavingBytes > remedies.Single(r => r.Kind == RemedyKind.QuantizeInt8).SavingBytes);
        }

        [Theory]
        [InlineData("RTX 4090", 24)]
        [InlineData("rtx-4090 24gb", 24)]
        [InlineData("H100 80GB", 80)]
        [InlineData("A100 40GB", 40)]
        [InlineData("a100 80gb", 80)]
        [InlineData("H200", 141)]
        [InlineData("MI300X", 192)]
        [InlineData("RTX 3060", 12)]
        [InlineData("A10", 24)]
        public void The_catalog_finds_cards_by_name(string name, double gigabytes)
        {
            var gpu = GpuCatalog.Find(name);
            Assert.NotNull(gpu);
            Assert.Equal(gigabytes, gpu!.MemoryGigabytes);
            // Budgets are checked against what a process can use: less than marketed, never more.
            Assert.InRange(gpu.UsableGigabytes, 0.9 * gigabytes, gigabytes);
            Assert.Equal((long)(gpu.UsableGigabytes * Gigabytes.Bytes), gpu.MemoryBytes);
        }

        [Theory]
        [InlineData("A100")]
        [InlineData("GTX 9999")]
        [InlineData("")]
        public void Unknown_or_ambiguous_names_find_nothing(string name) => Assert.Null(GpuCatalog.Find(name));

        [Fact]
        public void Gigabytes_are_binary()
        {
            Assert.Equal(1L << 30, Gigabytes.ToBytes(1));
            Assert.Equal("41.3 GB", Gigabytes.Format((long)(41.3 * (1L << 30))));
            Assert.Throws<System.ArgumentOutOfRangeException>(() => Gigabytes.ToBytes(-1));
        }
    }
}
