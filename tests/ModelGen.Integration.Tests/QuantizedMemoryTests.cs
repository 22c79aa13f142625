using System.Linq;
using ModelGen.Memory;
using ModelGen.Quantization;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>The bytes a generated quantized layer really holds are the bytes the memory model counts for its spec.</summary>
public class QuantizedMemoryTests
{
    [Fact]
    public void Stored_bytes_equal_the_memory_models_weights()
    {
        var config = new TestConfig();
        using var layer = new QuantizedLayer(config);
        var quantized = new[] { layer.Up, layer.Down, layer.Gate }.Cast<QuantizedLinear>().ToList();

        // Packed weights with their scales, zero points and absmax constants, plus every floating parameter (biases, the plain Linear).
        var held = quantized.Sum(q => q.StoredBytes) + layer.parameters().Sum(p => p.numel() * p.element_size());

        var spec = new ModelSpec(QuantizedLayer.DescribeLayer(config), EquatableArray.Create<LayerSpec>());
        var estimate = MemoryModel.Estimate(spec, new ScenarioSpec(1, Workload.Inference, 8, 1, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(held, estimate.Term(MemoryTerms.Weights));
        // Nothing quantized trains: only the biases and the plain Linear are parameters.
        Assert.Equal(layer.parameters().Sum(p => p.numel()), estimate.TrainableParameterCount);
        // And the generated forward runs through all three formats in bf16.
        var output = layer.call(torch.randn(2, config.Hidden));
        Assert.Equal(new long[] { 2, config.Hidden }, output.shape);
        Assert.Equal(ScalarType.BFloat16, output.dtype);
    }
}
