using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelGen.Loading;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Loading
{
    public class WeightLoaderTests : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("modelgen-load-").FullName;

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        private static Sequential Net(ScalarType dtype = ScalarType.Float32) => nn.Sequential(
            ("proj", nn.Linear(6, 4, dtype: dtype)),
            ("norm", nn.LayerNorm(4, dtype: dtype)));

        [Fact]
        public void Loading_reports_progress_tensor_by_tensor_to_the_last_byte()
        {
            torch.manual_seed(4);
            using var source = Net();
            string path = Save("progress.safetensors", source.state_dict());
            using var target = Net();
            var reports = new List<LoadingProgress>();
            WeightLoader.Load(target, path, new WeightLoadOptions { Progress = new Collect(reports) });

            Assert.Equal(4, reports.Count);
            Assert.Equal(new long[] { 1, 2, 3, 4 }, reports.Select(r => r.TensorsLoaded).ToArray());
            Assert.All(reports, r => Assert.Equal(path, r.Source));
            // proj.weight 6×4, proj.bias 4, norm.weight 4, norm.bias 4: 36 fp32 values.
            Assert.Equal(36 * sizeof(float), reports[^1].TotalBytes);
            Assert.Equal(reports[^1].TotalBytes, reports[^1].BytesLoaded);
        }

        private sealed class Collect(List<LoadingProgress> reports) : IProgress<LoadingProgress>
        {
            public void Report(LoadingProgress value) => reports.Add(value);
        }

        [Fact]
        public void A_saved_state_dict_loads_into_a_fresh_model()
        {
            torch.manual_seed(1);
            using var source = Net();
            string path = Save("net.safetensors", source.state_dict());
            using var target = Net();
            var report = WeightLoader.Load(target, path);
            Assert.Equal(4, report.TensorsCopied);
            Assert.Empty(report.Missing);
            foreach (var (name, value) in source.state_dict())
                Assert.True(value.SameAs(target.state_dict()[name]), $"'{name}' differs");
            // Same dtype, no mapping, CPU parameters: every tensor streams straight in, no temporary.
            Assert.Equal(0, report.LargestReadBytes);
        }

        [Fact]
        public void Every_mismatch_is_named_in_one_error_and_the_model_is_unchanged()
        {
            using var model = Net();
            var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
            string path = Save("bad.safetensors", new Dictionary<string, Tensor>
            {
                ["proj.weight"] = ones(6, 4),                 // transposed: wrong shape
                ["proj.bias"] = ones(4),                      // fine, but must not be copied either
                ["norm.weight"] = ones(new long[] { 4 }, dtype: ScalarType.Int64), // integer into a float parameter
                ["extra.weight"] = ones(2),                   // the model has no such key
                // norm.bias is missing
            });

            var e = Assert.Throws<WeightMismatchException>(() => WeightLoader.Load(model, path));
            Assert.Equal(new[] { "'norm.bias' (Float32 [4])" }, e.Missing);
            Assert.Single(e.Unexpected, u => u.StartsWith("'extra.weight'", StringComparison.Ordinal));
            Assert.Single(e.Misshaped, m => m.Contains("'proj.weight': checkpoint [6, 4], model [4, 6]", StringComparison.Ordinal));
            Assert.Single(e.WrongDType, m => m.Contains("'norm.weight': checkpoint Int64, model Float32", StringComparison.Ordinal));
            Assert.Contains("nothing was loaded", e.Message, StringComparison.Ordinal);
            foreach (var (name, value) in model.state_dict())
                Assert.True(value.SameAs(before[name]), $"'{name}' changed although the load failed");
        }

        [Fact]
        public void Missing_and_unexpected_keys_can_be_allowed_and_are_reported()
        {
            using var model = Net();
            string path = Save("part.safetensors", new Dictionary<string, Tensor> { ["proj.bias"] = zeros(4), ["other"] = ones(1) });
            var report = WeightLoader.Load(model, path, new WeightLoadOptions { AllowMissing = true, AllowUnexpected = true });
            Assert.Equal(new[] { "norm.bias", "norm.weight", "proj.weight" }, report.Missing);
            Assert.Equal(new[] { "other" }, report.Ignored);
            Assert.Equal(0f, ((Linear)model[0]).bias!.abs().sum().item<float>());
        }

        [Fact]
        public void A_bf16_checkpoint_converts_into_a_float32_model()
        {
            torch.manual_seed(2);
            using var source = Net(ScalarType.BFloat16);
            string path = Save("bf16.safetensors", source.state_dict());
            using var target = Net(ScalarType.Float32);
            var report = WeightLoader.Load(target, path);
            // A conversion streams too, through a small temporary: no full-size copy.
            Assert.Equal(0, report.LargestReadBytes);
            foreach (var (name, value) in source.state_dict())
            {
                var loaded = target.state_dict()[name];
                Assert.Equal(ScalarType.Float32, loaded.dtype);
                Assert.True(value.to(ScalarType.Float32).SameAs(loaded), $"'{name}' was not converted exactly");
            }
        }

        [Fact]
        public void A_tensor_larger_than_one_mapped_piece_reads_and_converts_exactly()
        {
            // 3000 × 3000 bf16 = 18 MB: more than the 16 MiB mapped (and converted) at a time.
            torch.manual_seed(5);
            using var source = nn.Linear(3000, 3000, hasBias: false, dtype: ScalarType.BFloat16);
            string path = Save("big.safetensors", source.state_dict());
            using var same = nn.Linear(3000, 3000, hasBias: false, dtype: ScalarType.BFloat16);
            using var wider = nn.Linear(3000, 3000, hasBias: false);
            WeightLoader.Load(same, path);
            WeightLoader.Load(wider, path);
            Assert.True(same.weight!.SameAs(source.weight!));
            Assert.True(wider.weight!.SameAs(source.weight!.to(ScalarType.Float32)));
        }

        [Theory]
        [InlineData(QuantKind.Int8, 0)]
        [InlineData(QuantKind.Int4, 32)]
        [InlineData(QuantKind.NF4, 64)]
        public void A_float_checkpoint_quantizes_on_load_as_FromLinear_does(QuantKind kind, int group)
        {
            torch.manual_seed(3);
            using var linear = nn.Linear(64, 16);
            string path = Save("float.safetensors", new Dictionary<string, Tensor> { ["proj.weight"] = linear.weight!, ["proj.bias"] = linear.bias! });
            using var expected = QuantizedLinear.FromLinear(linear, kind, group);
            using var model = nn.Sequential(("proj", new QuantizedLinear(64, 16, hasBias: true, kind, group)));
            var report = WeightLoader.Load(model, path);
            Assert.Equal(1, report.LayersQuantized);
            Assert.Equal(1, report.TensorsCopied);
            var layer = (QuantizedLinear)model[0];
            using var a = expected.Dequantize();
            using var b = layer.Dequantize();
            Assert.True(a.SameAs(b), "quantize-on-load differs from FromLinear");
            Assert.True(layer.bias!.SameAs(linear.bias!));
        }

        [Fact]
        public void A_quantized_layer_names_its_float_weight_shape_when_it_does_not_fit()
        {
            using var model = nn.Sequential(("proj", new QuantizedLinear(64, 16, hasBias: false, QuantKind.Int8)));
            string path = Save("q.safetensors", new Dictionary<string, Tensor> { ["proj.weight"] = ones(64, 16) });
            var e = Assert.Throws<WeightMismatchException>(() => WeightLoader.Load(model, path));
            Assert.Single(e.Misshaped, m => m.Contains("checkpoint [64, 16], model [16, 64] (a quantized Linear takes its float weight as [out, in])", StringComparison.Ordinal));
        }

        [Fact]
        public void A_tied_weight_is_filled_by_either_name()
        {
            using var model = new Tied();
            string path = Save("tied.safetensors", new Dictionary<string, Tensor> { ["wte.weight"] = full(10, 4, 0.5f) });
            WeightLoader.Load(model, path);
            Assert.Equal(0.5f, model.Head.weight!.mean().item<float>());
        }

        [Fact]
        public void The_gpt2_mapping_transposes_conv1d_weights_and_splits_c_attn()
        {
            torch.manual_seed(4);
            const int h = 8;
            var cAttnW = randn(h, 3 * h);
            var cAttnB = randn(3 * h);
            var cProjW = randn(h, h);
            var cProjB = randn(h);
            string path = Save("gpt2.safetensors", new Dictionary<string, Tensor>
            {
                ["transformer.h.0.attn.c_attn.weight"] = cAttnW,
                ["transformer.h.0.attn.c_attn.bias"] = cAttnB,
                ["transformer.h.0.attn.c_proj.weight"] = cProjW,
                ["transformer.h.0.attn.c_proj.bias"] = cProjB,
                ["transformer.h.0.attn.bias"] = ones(1, 1, 4, 4),
            });
            using var model = new Holder(new Holder(new Attention(h, 2, 2, bias: true), "attn"), "0", "h");
            WeightLoader.Load(model, path, new WeightLoadOptions { Mapping = WeightMapping.Gpt2 });
            var sd = model.state_dict();
            Assert.True(sd["h.0.attn.q_proj.weight"].SameAs(cAttnW.narrow(1, 0, h).t()));
            Assert.True(sd["h.0.attn.k_proj.weight"].SameAs(cAttnW.narrow(1, h, h).t()));
            Assert.True(sd["h.0.attn.v_proj.weight"].SameAs(cAttnW.narrow(1, 2 * h, h).t()));
            Assert.True(sd["h.0.attn.v_proj.bias"].SameAs(cAttnB.narrow(0, 2 * h, h)));
            Assert.True(sd["h.0.attn.o_proj.weight"].SameAs(cProjW.t()));
        }

        [Fact]
        public void A_checkpoint_that_fills_one_key_twice_is_refused()
        {
            using var model = Net();
            var sd = model.state_dict();
            string path = Save("dup.safetensors", new Dictionary<string, Tensor>
            {
                ["proj.weight"] = sd["proj.weight"], ["proj.bias"] = sd["proj.bias"], ["norm.weight"] = sd["norm.weight"], ["norm.bias"] = sd["norm.bias"],
                ["model.proj.bias"] = sd["proj.bias"],
            });
            var mapping = WeightMapping.Identity.Rename(@"^model\.", "");
            var e = Assert.Throws<WeightMismatchException>(() => WeightLoader.Load(model, path, new WeightLoadOptions { Mapping = mapping }));
            Assert.Single(e.Unexpected, u => u.Contains("already filled", StringComparison.Ordinal));
        }

        private string Save(string name, IEnumerable<KeyValuePair<string, Tensor>> tensors)
        {
            string path = Path.Combine(_folder, name);
            SafetensorsWriter.Save(path, tensors);
            return path;
        }

        /// <summary>A module holding one child under a name, nested to build dotted keys such as h.0.attn.</summary>
        private sealed class Holder : nn.Module<Tensor, Tensor>
        {
            private readonly nn.Module<Tensor, Tensor> _child;

            public Holder(nn.Module<Tensor, Tensor> child, string name, string? outer = null) : base(nameof(Holder))
            {
                _child = child;
                if (outer is null)
                    register_module(name, child);
                else
                    register_module(outer, new Holder(child, name));
            }

            public override Tensor forward(Tensor input) => _child.call(input);
        }

        private sealed class Tied : nn.Module<Tensor, Tensor>
        {
            private readonly Embedding wte = nn.Embedding(10, 4);
            private readonly Linear head = nn.Linear(4, 10, hasBias: false);

            public Tied() : base(nameof(Tied))
            {
                head.weight = wte.weight!;
                RegisterComponents();
            }

            public Linear Head => head;


            public override Tensor forward(Tensor input) => head.call(wte.call(input));
        }
    }
}
