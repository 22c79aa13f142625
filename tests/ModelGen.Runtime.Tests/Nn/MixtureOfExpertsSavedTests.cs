using System.IO;
using System.Linq;
using System.Text.Json;
using ModelGen.Memory;
using ModelGen.Runtime.Tests.Loading;
using ModelGen.Specs;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary>
    /// The memory model's saved bytes for a mixture-of-experts block equal what PyTorch's autograd saves for the same op sequence,
    /// measured by tests/python/moe_saved_bytes.py with <c>torch.autograd.graph.saved_tensors_hooks</c> (distinct storages,
    /// parameters left out).
    /// </summary>
    public sealed class MixtureOfExpertsSavedTests
    {
        [Theory]
        [InlineData("swiglu-fp32", 4, 2, FeedForwardActivation.SwiGlu, DType.Float32, 0.0)]
        [InlineData("swiglu-bf16", 4, 2, FeedForwardActivation.SwiGlu, DType.BFloat16, 0.0)]
        [InlineData("gelu-top1-fp32", 4, 1, FeedForwardActivation.Gelu, DType.Float32, 0.0)]
        [InlineData("geglu-top3-fp32", 6, 3, FeedForwardActivation.GeGlu, DType.Float32, 0.0)]
        [InlineData("swiglu-capacity-fp32", 4, 2, FeedForwardActivation.SwiGlu, DType.Float32, 0.75)]
        public void The_estimate_saves_what_autograd_saves(string name, long experts, long topK, FeedForwardActivation activation, DType precision, double capacity)
        {
            const long Tokens = 96, Hidden = 16, Inner = 24; // the script's sizes
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(PythonScripts.Output("moe_saved_bytes.py"), "moe_saved_bytes.json")));
            var measured = json.RootElement.GetProperty(name);

            var moe = new MixtureOfExpertsSpec("Moe", "moe", Dim.Literal(Hidden), Dim.Literal(Inner), Dim.Literal(experts), Dim.Literal(topK), activation, capacity);
            var root = new LayerSpec("Demo", "MoeOnly", "global::Demo.MoeOnly", "public", "global::Demo.Cfg", true,
                new BlockSpec[] { moe }.ToEquatableArray(), new ForwardSpec("Forward", "x")) { Precision = precision };
            var estimate = MemoryModel.Estimate(new ModelSpec(root, EquatableArray<LayerSpec>.Empty),
                new ScenarioSpec(0, Workload.Training, Tokens, 1, Optimizer.AdamW), DeviceProfile.Cpu);
            var saved = estimate.Layers.SelectMany(l => l.SavedTensors).Where(s => s.Block == "Moe").Sum(s => s.Bytes);
            Assert.Equal(measured.GetProperty("saved").GetInt64(), saved);
            if (capacity == 0)
                Assert.Equal(Tokens * topK, measured.GetProperty("rows").GetInt64()); // dropless: every route is a row
            else
                Assert.True(measured.GetProperty("rows").GetInt64() == Tokens * topK * 3 / 4, "the script's seed fills every expert at capacity 0.75");
        }
    }
}
