using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>
    /// A checkpoint split into shards with a Hugging Face index (<c>model.safetensors.index.json</c> or
    /// <c>pytorch_model.bin.index.json</c>): <c>{"metadata": {…}, "weight_map": {"tensor name": "shard file", …}}</c>.
    /// Every shard is opened (headers only) up front, so a missing shard, a tensor the index names but its shard lacks, or a
    /// tensor in a shard the index does not list is reported before anything is loaded.
    /// </summary>
    public sealed class ShardedWeightFiles : IWeightSource
    {
        private readonly List<IWeightSource> _shards;
        private readonly Dictionary<string, IWeightSource> _owner;
        private readonly List<CheckpointTensor> _tensors;

        private ShardedWeightFiles(string path, List<IWeightSource> shards, Dictionary<string, IWeightSource> owner, List<CheckpointTensor> tensors)
        {
            Description = path;
            _shards = shards;
            _owner = owner;
            _tensors = tensors;
        }

        /// <inheritdoc/>
        public IReadOnlyList<CheckpointTensor> Tensors => _tensors;

        /// <inheritdoc/>
        public string Description { get; }

        /// <summary>Opens an index file and every shard it names (from the index's folder).</summary>
        /// <exception cref="FileNotFoundException">No index file.</exception>
        /// <exception cref="CheckpointFormatException">A bad index, a missing shard, or a shard that disagrees with the index.</exception>
        public static ShardedWeightFiles Open(string indexPath)
        {
            ArgumentNullException.ThrowIfNull(indexPath);
            indexPath = Path.GetFullPath(indexPath);
            if (!File.Exists(indexPath))
                throw new FileNotFoundException($"No checkpoint index at '{indexPath}'.", indexPath);

            var weightMap = ReadWeightMap(indexPath);
            string folder = Path.GetDirectoryName(indexPath)!;
            var shards = new List<IWeightSource>();
            var owner = new Dictionary<string, IWeightSource>(StringComparer.Ordinal);
            var tensors = new List<CheckpointTensor>();
            try
            {
                foreach (var file in weightMap.Values.Distinct(StringComparer.Ordinal).OrderBy(f => f, StringComparer.Ordinal))
                {
                    string shardPath = Path.Combine(folder, file);
                    if (!File.Exists(shardPath))
                        throw new CheckpointFormatException(CheckpointProblem.MissingFile, indexPath, $"the index names shard '{file}', which does not exist in '{folder}'.");
                    var shard = WeightSources.OpenFile(shardPath);
                    shards.Add(shard);
                    foreach (var tensor in shard.Tensors)
                    {
                        if (!weightMap.TryGetValue(tensor.Name, out var listed) || listed != file)
                            throw new CheckpointFormatException(CheckpointProblem.BadHeader, indexPath,
                                $"shard '{file}' holds '{tensor.Name}', which the index {(listed is null ? "does not list" : $"places in '{listed}'")}.");
                        owner[tensor.Name] = shard;
                        tensors.Add(tensor);
                    }
                }

                var absent = weightMap.Keys.Where(k => !owner.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
                if (absent.Count > 0)
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, indexPath,
                        $"the index lists {absent.Count} tensor(s) that their shard lacks: {string.Join(", ", absent.Take(10).Select(a => $"'{a}' (in '{weightMap[a]}')"))}{(absent.Count > 10 ? ", …" : "")}.");
            }
            catch
            {
                foreach (var shard in shards)
                    shard.Dispose();
                throw;
            }

            return new ShardedWeightFiles(indexPath, shards, owner, tensors);
        }

        /// <inheritdoc/>
        public Tensor Read(string name)
        {
            ArgumentNullException.ThrowIfNull(name);
            if (!_owner.TryGetValue(name, out var shard))
                throw new KeyNotFoundException($"'{Description}' has no tensor '{name}'.");
            return shard.Read(name);
        }

        /// <inheritdoc/>
        public bool TryReadInto(string name, Tensor destination)
        {
            ArgumentNullException.ThrowIfNull(name);
            if (!_owner.TryGetValue(name, out var shard))
                throw new KeyNotFoundException($"'{Description}' has no tensor '{name}'.");
            return shard.TryReadInto(name, destination);
        }

        /// <summary>Closes every shard.</summary>
        public void Dispose()
        {
            foreach (var shard in _shards)
                shard.Dispose();
        }

        private static Dictionary<string, string> ReadWeightMap(string indexPath)
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
                if (document.RootElement.ValueKind != JsonValueKind.Object
                    || !document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, indexPath, "the index has no \"weight_map\" object.");
                var result = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var entry in map.EnumerateObject())
                {
                    if (entry.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(entry.Value.GetString()))
                        throw new CheckpointFormatException(CheckpointProblem.BadHeader, indexPath, $"\"weight_map\" entry '{entry.Name}' is not a file name.");
                    string file = entry.Value.GetString()!;
                    if (Path.IsPathRooted(file) || file.Contains("..", StringComparison.Ordinal))
                        throw new CheckpointFormatException(CheckpointProblem.BadHeader, indexPath, $"shard name '{file}' must be a file beside the index.");
                    result[entry.Name] = file;
                }

                return result;
            }
            catch (JsonException e)
            {
                throw new CheckpointFormatException(CheckpointProblem.BadHeader, indexPath, $"the index is not valid JSON ({e.Message}).");
            }
        }
    }
}
