using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace ModelGen.Training
{
    /// <summary>The <c>index.json</c> of a <see cref="ShardedCheckpoint"/>: what a complete checkpoint consists of.</summary>
    internal sealed record CheckpointIndex(string Format, int Version, int WorldSize, List<CheckpointIndex.FileEntry> Files, List<CheckpointIndex.TensorEntry> Tensors)
    {
        private const string FormatName = "modelgen-sharded-checkpoint";
        private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

        /// <summary>One rank's file and its size in bytes.</summary>
        internal sealed record FileEntry(string Name, long Bytes);

        /// <summary>One state_dict tensor: its key, shape and dtype name.</summary>
        internal sealed record TensorEntry(string Name, long[] Shape, string DType);

        /// <summary>Lists the <paramref name="worldSize"/> rank files of <paramref name="directory"/> and writes the index (temp + rename).</summary>
        public static void Write(string directory, int worldSize)
        {
            var files = new List<FileEntry>();
            var tensors = new Dictionary<string, TensorEntry>();
            for (var rank = 0; rank < worldSize; rank++) {
                var name = ShardFile.Name(rank, worldSize);
                var path = Path.Combine(directory, name);
                files.Add(new FileEntry(name, new FileInfo(path).Length));
                foreach (var slice in ShardFile.Read(path)) {
                    tensors.TryAdd(slice.Name, new TensorEntry(slice.Name, slice.Shape, slice.DType.ToString()));
                    slice.Values.Dispose();
                }
            }
            var index = new CheckpointIndex(FormatName, 1, worldSize, files, tensors.Values.ToList());
            var path0 = Path.Combine(directory, ShardedCheckpoint.IndexFileName);
            File.WriteAllText(path0 + ".tmp", JsonSerializer.Serialize(index, s_json));
            File.Move(path0 + ".tmp", path0, overwrite: true);
        }

        /// <summary>Reads and checks the index: present, of this format, and every file present with its recorded size.</summary>
        public static CheckpointIndex Read(string directory)
        {
            var path = Path.Combine(directory, ShardedCheckpoint.IndexFileName);
            if (!File.Exists(path))
                throw new InvalidDataException(
                    $"{directory} has no {ShardedCheckpoint.IndexFileName}: the checkpoint is incomplete (its save was cut short before every " +
                    "rank had written), or it is not a ModelGen sharded checkpoint. Refusing to load it.");
            CheckpointIndex? index;
            try {
                index = JsonSerializer.Deserialize<CheckpointIndex>(File.ReadAllText(path), s_json);
            } catch (JsonException e) {
                throw new InvalidDataException($"{path} is not a valid checkpoint index: {e.Message}", e);
            }
            if (index is null || index.Format != FormatName || index.Files is null || index.Tensors is null)
                throw new InvalidDataException($"{path} is not a {FormatName} index.");
            if (index.Version != 1)
                throw new InvalidDataException($"{path} has format version {index.Version}; this ModelGen reads version 1.");
            foreach (var file in index.Files) {
                var filePath = Path.Combine(directory, file.Name);
                if (!File.Exists(filePath))
                    throw new InvalidDataException($"{directory} lacks {file.Name}, which its index lists: the checkpoint is incomplete.");
                var length = new FileInfo(filePath).Length;
                if (length != file.Bytes)
                    throw new InvalidDataException($"{file.Name} in {directory} has {length} bytes where the index records {file.Bytes}: the file was cut short or replaced.");
            }
            return index;
        }
    }
}
