using System;
using System.IO;
using System.Linq;
using ModelGen.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Loading
{
    /// <summary>The .pt/.bin reader against files PyTorch itself wrote (tests/python/torch_checkpoints.py).</summary>
    public class TorchCheckpointFileTests
    {
        private static string File(string name) => Path.Combine(PythonScripts.Output("torch_checkpoints.py"), name);

        [Fact]
        public void Every_dtype_reads_with_its_values()
        {
            using var file = TorchCheckpointFile.Open(File("dtypes.pt"));
            var expected = new (string Name, ScalarType DType)[]
            {
                ("float64", ScalarType.Float64), ("float32", ScalarType.Float32), ("float16", ScalarType.Float16), ("bfloat16", ScalarType.BFloat16),
                ("int64", ScalarType.Int64), ("int32", ScalarType.Int32), ("int16", ScalarType.Int16), ("int8", ScalarType.Int8), ("uint8", ScalarType.Byte),
            };
            using var counting = arange(12, dtype: ScalarType.Float64).view(3, 4);
            foreach (var (name, dtype) in expected)
            {
                using var t = file.Read(name);
                Assert.Equal(dtype, t.dtype);
                Assert.Equal(new long[] { 3, 4 }, t.shape);
                Assert.True(t.to(ScalarType.Float64).SameAs(counting), $"'{name}' has the wrong values");
            }

            using var flags = file.Read("bool");
            Assert.Equal(new[] { true, false, true, false, true, false }, flags.view(-1).data<bool>().ToArray());
            using var scalar = file.Read("scalar");
            Assert.Empty(scalar.shape);
            Assert.Equal(3.5f, scalar.item<float>());
            using var empty = file.Read("empty");
            Assert.Equal(new long[] { 0, 5 }, empty.shape);
        }

        [Fact]
        public void Views_and_shared_storages_read_as_their_own_values()
        {
            using var file = TorchCheckpointFile.Open(File("views.pt"));
            using var baseTensor = arange(20, dtype: ScalarType.Float32).view(4, 5);
            using var transposed = file.Read("transposed");
            Assert.True(transposed.SameAs(baseTensor.t()));
            using var slice = file.Read("slice");
            Assert.True(slice.SameAs(baseTensor.narrow(0, 2, 2).narrow(1, 1, 3)));
            using var a = file.Read("tied_a");
            using var b = file.Read("tied_b");
            Assert.True(a.SameAs(baseTensor));
            Assert.True(b.SameAs(baseTensor));
        }

        [Fact]
        public void A_training_checkpoint_yields_its_model_state_dict()
        {
            using var file = TorchCheckpointFile.Open(File("nested.pt"));
            Assert.Equal(new[] { "w" }, file.Tensors.Select(t => t.Name));
        }

        [Fact]
        public void The_legacy_format_is_refused_by_name()
        {
            var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpointFile.Open(File("legacy.pt")));
            Assert.Equal(CheckpointProblem.BadHeader, e.Problem);
            Assert.Contains("only the zip format", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_pickle_that_is_not_a_state_dict_is_refused()
        {
            var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpointFile.Open(File("not_a_dict.pt")));
            Assert.Equal(CheckpointProblem.BadHeader, e.Problem);
            Assert.Contains("not a state_dict", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_truncated_archive_is_truncated()
        {
            string copy = Path.Combine(Path.GetTempPath(), "modelgen-cut-" + Guid.NewGuid().ToString("N") + ".pt");
            try
            {
                var bytes = System.IO.File.ReadAllBytes(File("dtypes.pt"));
                System.IO.File.WriteAllBytes(copy, bytes[..(bytes.Length / 2)]);
                var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpointFile.Open(copy));
                Assert.Equal(CheckpointProblem.Truncated, e.Problem);
            }
            finally
            {
                System.IO.File.Delete(copy);
            }
        }

        [Fact]
        public void Sources_open_by_content_whatever_the_extension()
        {
            string copy = Path.Combine(Path.GetTempPath(), "modelgen-" + Guid.NewGuid().ToString("N") + ".weights");
            try
            {
                System.IO.File.Copy(File("nested.pt"), copy);
                using var source = WeightSources.Open(copy);
                Assert.IsType<TorchCheckpointFile>(source);
            }
            finally
            {
                System.IO.File.Delete(copy);
            }
        }
    }
}
