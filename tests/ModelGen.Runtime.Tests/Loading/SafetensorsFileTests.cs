using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ModelGen.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Loading
{
    public class SafetensorsFileTests : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("modelgen-st-").FullName;

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        [Fact]
        public void Every_dtype_round_trips_bit_for_bit()
        {
            var tensors = new Dictionary<string, Tensor>
            {
                ["f64"] = randn(3, 5, dtype: ScalarType.Float64),
                ["f32"] = randn(7, dtype: ScalarType.Float32),
                ["f16"] = randn(2, 3, dtype: ScalarType.Float16),
                ["bf16"] = randn(4, 4, dtype: ScalarType.BFloat16),
                ["i64"] = randint(-1000, 1000, new long[] { 6 }, dtype: ScalarType.Int64),
                ["i32"] = randint(-1000, 1000, new long[] { 2, 2 }, dtype: ScalarType.Int32),
                ["i16"] = randint(-1000, 1000, new long[] { 3 }, dtype: ScalarType.Int16),
                ["i8"] = randint(-100, 100, new long[] { 9 }, dtype: ScalarType.Int8),
                ["u8"] = randint(0, 255, new long[] { 2, 5 }, dtype: ScalarType.Byte),
                ["bool"] = randint(0, 2, new long[] { 4 }).to(ScalarType.Bool),
                ["scalar"] = tensor(2.5f),
                ["empty"] = zeros(0, 3),
            };
            string path = Path.Combine(_folder, "all.safetensors");
            SafetensorsWriter.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });

            using var file = SafetensorsFile.Open(path);
            Assert.Equal("pt", file.Metadata["format"]);
            Assert.Equal(tensors.Keys.OrderBy(k => k, StringComparer.Ordinal), file.Tensors.Select(t => t.Name));
            foreach (var (name, expected) in tensors)
            {
                using var actual = file.Read(name);
                Assert.Equal(expected.dtype, actual.dtype);
                Assert.Equal(expected.shape, actual.shape);
                Assert.True(expected.SameAs(actual), $"'{name}' differs after the round trip");
            }
        }

        [Fact]
        public void A_file_shorter_than_its_data_is_truncated()
        {
            string path = Write("t.safetensors", ("w", randn(64, 64)));
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..^100]);
            var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
            Assert.Equal(CheckpointProblem.Truncated, e.Problem);
            Assert.Contains("'w' needs bytes 0–16384", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_file_cut_inside_its_header_is_truncated()
        {
            string path = Write("t.safetensors", ("w", randn(4)));
            File.WriteAllBytes(path, File.ReadAllBytes(path)[..20]);
            var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
            Assert.Equal(CheckpointProblem.Truncated, e.Problem);
            Assert.Contains("header should have", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Invalid_json_is_a_bad_header()
        {
            string path = RawFile("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]", 4);
            var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
            Assert.Equal(CheckpointProblem.BadHeader, e.Problem);
            Assert.Contains("not valid JSON", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Offsets_that_disagree_with_the_shape_are_a_bad_header()
        {
            string path = RawFile("{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 24);
            var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
            Assert.Equal(CheckpointProblem.BadHeader, e.Problem);
            Assert.Contains("needs 24 bytes, but its data_offsets [0, 20] span 20", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Overlapping_tensors_are_a_bad_header()
        {
            string path = RawFile("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12);
            var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
            Assert.Equal(CheckpointProblem.BadHeader, e.Problem);
            Assert.Contains("inside 'a'", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_huge_header_length_is_a_bad_header_not_an_allocation()
        {
            string path = Path.Combine(_folder, "huge.safetensors");
            var bytes = new byte[64];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2);
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
            Assert.Equal(CheckpointProblem.BadHeader, e.Problem);
        }

        [Fact]
        public void An_eight_bit_float_is_an_unsupported_dtype_named_with_its_tensor()
        {
            string path = RawFile("{\"scales\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4);
            var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path));
            Assert.Equal(CheckpointProblem.UnsupportedDType, e.Problem);
            Assert.Contains("'scales' has dtype 'F8_E4M3'", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Reading_an_unknown_name_says_which()
        {
            string path = Write("t.safetensors", ("w", randn(2)));
            using var file = SafetensorsFile.Open(path);
            var e = Assert.Throws<KeyNotFoundException>(() => file.Read("v"));
            Assert.Contains("'v'", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void The_writer_leaves_no_temporary_file_and_overwrites_atomically()
        {
            string path = Write("t.safetensors", ("w", ones(3)));
            Write("t.safetensors", ("w", zeros(3)));
            Assert.Single(Directory.GetFiles(_folder));
            using var file = SafetensorsFile.Open(path);
            using var w = file.Read("w");
            Assert.Equal(0f, w.sum().item<float>());
        }

        private string Write(string name, params (string Name, Tensor Value)[] tensors)
        {
            string path = Path.Combine(_folder, name);
            SafetensorsWriter.Save(path, tensors.Select(t => KeyValuePair.Create(t.Name, t.Value)));
            return path;
        }

        private string RawFile(string header, int dataBytes)
        {
            string path = Path.Combine(_folder, Guid.NewGuid().ToString("N") + ".safetensors");
            var json = Encoding.UTF8.GetBytes(header);
            var bytes = new byte[8 + json.Length + dataBytes];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
            json.CopyTo(bytes, 8);
            File.WriteAllBytes(path, bytes);
            return path;
        }
    }
}
