using System.Collections.Generic;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using Xunit.Abstractions;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    public class EstimateShapeTests
    {
        private readonly ITestOutputHelper _output;

        public EstimateShapeTests(ITestOutputHelper output) => _output = output;

        public static IEnumerable<object[]> Scenarios() => new[]
        {
            new object[] { "llama train 8192", Llama3_8B(), Training(8192) },
            new object[] { "llama train 8192 checkpointed", Llama3_8B(checkpoint: CheckpointMode.Full), Training(8192) },
            new object[] { "llama train every 4", Llama3_8B(every: 4), Training(4096, 2) with { DataParallel = 8, ZeroStage = 3 } },
            new object[] { "llama inference 32768", Llama3_8B(), Inference(32768) },
            new object[] { "gpt2 train fp32", Gpt2Small(), Training(1024, 8) },
            new object[] { "gpt2 train bf16 offload", Gpt2Small(DType.BFloat16), Training(1024, 8) with { OffloadOptimizer = true, OffloadParameters = true } },
        };

        [Theory]
        [MemberData(nameof(Scenarios))]
        public void Terms_come_in_order_and_add_up_to_the_peak(string name, ModelSpec model, ScenarioSpec scenario)
        {
            foreach (var device in new[] { DeviceProfile.Cuda, DeviceProfile.Cpu })
            {
                var estimate = MemoryModel.Estimate(model, scenario, device);
                _output.WriteLine($"{name} on {device}: {Gigabytes.Format(estimate.PeakBytes)} at {estimate.PeakPhase}: "
                    + string.Join(", ", estimate.Terms.Select(t => $"{t.Name} {Gigabytes.Format(t.Bytes)}")));
                Assert.Equal(MemoryTerms.All, estimate.Terms.Select(t => t.Name));
                Assert.Equal(estimate.PeakBytes, estimate.Terms.Sum(t => t.Bytes));
                Assert.All(estimate.Terms, t => Assert.True(t.Bytes >= 0, t.Name));
                foreach (var phase in estimate.Phases)
                {
                    Assert.Equal(MemoryTerms.All, phase.Terms.Select(t => t.Name));
                    Assert.Equal(phase.PeakBytes, phase.Terms.Sum(t => t.Bytes));
                    Assert.True(phase.PeakBytes <= estimate.PeakBytes);
                }
                Assert.Equal(estimate.PeakBytes, estimate.Phases.Single(p => p.Phase == estimate.PeakPhase).PeakBytes);
            }
        }

        [Fact]
        public void Llama3_8B_training_at_8192_does_not_fit_24_GB_and_checkpointing_lowers_it()
        {
            var plain = MemoryModel.Estimate(Llama3_8B(), Training(8192));
            var checkpointed = MemoryModel.Estimate(Llama3_8B(checkpoint: CheckpointMode.Full), Training(8192));
            Assert.True(plain.PeakBytes > 24 * Gigabytes.Bytes);
            Assert.True(checkpointed.PeakBytes < plain.PeakBytes);
            // Model states in the step: 2 (weights) + 4 (fp32 main gradients; the bf16 ones are freed as folded) + 12 (optimizer)
            // bytes per parameter, Megatron-LM's 18, plus the rotary tables.
            var states = checkpointed.Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep);
            Assert.Equal(18 * 8_030_261_248 + (32 * 2 * 8192 * 128 * 4), states.Terms.Take(3).Sum(t => t.Bytes));
        }

        [Fact]
        public void The_cpu_has_no_fixed_overhead_and_cuda_has_context_and_workspace()
        {
            var cpu = MemoryModel.Estimate(Gpt2Small(), Training(128), DeviceProfile.Cpu);
            var cuda = MemoryModel.Estimate(Gpt2Small(), Training(128));
            Assert.Equal(0, cpu.Term(MemoryTerms.Overhead));
            var tensors = cuda.PeakBytes - cuda.Term(MemoryTerms.Overhead);
            Assert.Equal(DeviceProfile.CudaContextBytes + DeviceProfile.CublasWorkspaceBytes + (long)System.Math.Ceiling(0.05 * tensors), cuda.Term(MemoryTerms.Overhead));
        }

        [Fact]
        public void Layers_list_the_root_first_with_instance_counts()
        {
            var estimate = MemoryModel.Estimate(Llama3_8B(every: 4), Training(512));
            Assert.Equal("Llama", estimate.Layers[0].Path);
            var blocks = estimate.Layers.Single(l => l.Path == "Llama.Blocks");
            Assert.Equal(32, blocks.Count);
            Assert.Equal(8, blocks.CheckpointedCount);
            // bf16: q and o 4096², k and v 4096×1024, gate/up/down 4096×14336, two RMSNorm weights.
            Assert.Equal(2 * ((2 * 4096L * 4096) + (2 * 4096L * 1024) + (3 * 4096L * 14336) + (2 * 4096)), blocks.WeightBytes);
        }

        [Theory]
        [InlineData(0, 1, 1, 0)]
        [InlineData(16, 0, 1, 0)]
        [InlineData(16, 1, 0, 0)]
        [InlineData(16, 1, 1, 4)]
        public void Invalid_scenarios_are_rejected_with_the_value(long seq, long batch, int tensorParallel, int zero)
        {
            var scenario = Training(seq, batch) with { TensorParallel = tensorParallel, ZeroStage = zero };
            Assert.Throws<System.ArgumentException>(() => MemoryModel.Estimate(Gpt2Small(), scenario));
        }

        [Fact]
        public void Heads_that_do_not_divide_are_rejected()
        {
            var model = Model(Layer("A", true, new AttentionSpec("Attn", "attn", D("Hidden", 100), D("Heads", 3), D("Heads", 3), true, false, 1e4, true, false, 0)));
            var error = Assert.Throws<System.ArgumentException>(() => MemoryModel.Estimate(model, Training(4)));
            Assert.Contains("A.Attn", error.Message);
        }

        [Fact]
        public void A_missing_or_recursive_layer_is_rejected()
        {
            var missing = Model(Layer("M", true, new LayerRefSpec("Child", "child", "global::Demo.Nope")));
            Assert.Contains("global::Demo.Nope", Assert.Throws<System.ArgumentException>(() => MemoryModel.Estimate(missing, Training(4))).Message);
            var loop = Layer("Loop", false, new LinearSpec("P", "p", D("H", 4), D("H", 4), false), new LayerRefSpec("Again", "again", "global::Demo.Loop"));
            var recursive = Model(Layer("M", true, new LayerRefSpec("Child", "child", "global::Demo.Loop")), loop);
            Assert.Contains("contains itself", Assert.Throws<System.ArgumentException>(() => MemoryModel.Estimate(recursive, Training(4))).Message);
        }
    }
}
