using System;
using System.IO;
using System.Linq;

namespace ModelGen.Loading
{
    /// <summary>Opens a checkpoint by path, choosing the reader from what the path is.</summary>
    public static class WeightSources
    {
        /// <summary>
        /// Opens a checkpoint: a <c>*.index.json</c> (sharded), a <c>.safetensors</c> file, a PyTorch file (<c>.bin</c>, <c>.pt</c>,
        /// <c>.pth</c>, <c>.ckpt</c>), or a folder holding one of Hugging Face's standard names (<c>model.safetensors.index.json</c>,
        /// <c>model.safetensors</c>, <c>pytorch_model.bin.index.json</c>, <c>pytorch_model.bin</c>, first found wins).
        /// </summary>
        /// <exception cref="FileNotFoundException">Nothing at the path, or a folder without a known checkpoint name.</exception>
        /// <exception cref="CheckpointFormatException">The file is broken (see <see cref="CheckpointProblem"/>).</exception>
        public static IWeightSource Open(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            if (Directory.Exists(path))
            {
                string[] names = { "model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin" };
                var found = names.Select(n => Path.Combine(path, n)).FirstOrDefault(File.Exists)
                    ?? throw new FileNotFoundException($"The folder '{path}' has none of {string.Join(", ", names)}.", path);
                return Open(found);
            }

            if (path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
                return ShardedWeightFiles.Open(path);
            return OpenFile(path);
        }

        /// <summary>Opens one (unsharded) file: safetensors by its 8-byte header, PyTorch by its zip signature, whatever its extension.</summary>
        internal static IWeightSource OpenFile(string path)
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"No checkpoint file at '{path}'.", path);
            Span<byte> magic = stackalloc byte[2];
            using (var stream = File.OpenRead(path))
                magic = magic[..stream.Read(magic)];
            bool zip = magic.Length == 2 && magic[0] == (byte)'P' && magic[1] == (byte)'K';
            bool torchName = path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase)
                || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase);
            return zip || torchName ? TorchCheckpointFile.Open(path) : SafetensorsFile.Open(path);
        }
    }
}
