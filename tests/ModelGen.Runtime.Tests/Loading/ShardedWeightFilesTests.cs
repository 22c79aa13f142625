using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelGen.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Loading
{
    public class ShardedWeightFilesTests : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("modelgen-shards-").FullName;

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        [Fact]
        public void A_folder_with_an_index_reads_every_shard()
        {
            WriteShards();
            using var source = WeightSources.Open(_folder);
            Assert.IsType<ShardedWeightFiles>(source);
            Assert.Equal(new[] { "a", "b", "c" }, source.Tensors.Select(t => t.Name).OrderBy(n => n));
            using var c = source.Read("c");
            Assert.Equal(new long[] { 2, 2 }, c.shape);
            Assert.Equal(8f, c.sum().item<float>());
        }

        [Fact]
        public void A_missing_shard_is_named()
        {
            WriteShards();
            File.Delete(Path.Combine(_folder, "model-00002-of-00002.safetensors"));
            var e = Assert.Throws<CheckpointFormatException>(() => WeightSources.Open(_folder));
            Assert.Equal(CheckpointProblem.MissingFile, e.Problem);
            Assert.Contains("model-00002-of-00002.safetensors", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_tensor_the_index_lists_but_its_shard_lacks_is_named()
        {
            WriteShards(extraIndexEntry: "d");
            var e = Assert.Throws<CheckpointFormatException>(() => WeightSources.Open(_folder));
            Assert.Equal(CheckpointProblem.BadHeader, e.Problem);
            Assert.Contains("'d' (in 'model-00001-of-00002.safetensors')", e.Message, StringComparison.Ordinal);
        }

        private void WriteShards(string? extraIndexEntry = null)
        {
            SafetensorsWriter.Save(Path.Combine(_folder, "model-00001-of-00002.safetensors"),
                new Dictionary<string, Tensor> { ["a"] = ones(3), ["b"] = ones(4) });
            SafetensorsWriter.Save(Path.Combine(_folder, "model-00002-of-00002.safetensors"),
                new Dictionary<string, Tensor> { ["c"] = full(2, 2, 2f) });
            var map = new Dictionary<string, string>
            {
                ["a"] = "model-00001-of-00002.safetensors",
                ["b"] = "model-00001-of-00002.safetensors",
                ["c"] = "model-00002-of-00002.safetensors",
            };
            if (extraIndexEntry is not null)
                map[extraIndexEntry] = "model-00001-of-00002.safetensors";
            File.WriteAllText(Path.Combine(_folder, "model.safetensors.index.json"),
                System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 36 }, weight_map = map }));
        }
    }
}
