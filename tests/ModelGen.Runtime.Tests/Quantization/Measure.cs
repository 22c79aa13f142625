using ModelGen.Quantization;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

public class Measure(ITestOutputHelper output)
{
    [Fact]
    public void Print()
    {
        var gen = new Generator(42);
        foreach (var (kind, g, dq) in new[] { (QuantKind.Int8, 0, false), (QuantKind.Int4, 128, false), (QuantKind.Int4, 32, false), (QuantKind.NF4, 64, false), (QuantKind.NF4, 64, true) })
        {
            var lin = nn.Linear(512, 256);
            using (no_grad()) lin.weight.copy_(randn(256, 512, generator: gen) * 0.02);
            var q = QuantizedLinear.FromLinear(lin, kind, g, dq);
            var w = q.Dequantize();
            var relW = ((w - lin.weight).norm() / lin.weight.norm()).item<float>();
            var x = randn(16, 512, generator: gen);
            var y0 = lin.call(x); var y1 = q.call(x);
            var relY = ((y1 - y0).norm() / y0.norm()).item<float>();
            output.WriteLine($"{kind} g{g} dq{dq}: relW={relW:F5} relY={relY:F5} bytes/param={q.StoredBytesPerParameter}");
        }
    }
}
