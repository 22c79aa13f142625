using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>
    /// A PyTorch checkpoint written by <c>torch.save(state_dict)</c> (<c>.pt</c>, <c>.pth</c>, Hugging Face's <c>pytorch_model.bin</c>):
    /// a zip archive holding <c>&lt;name&gt;/data.pkl</c>, a pickle of the (ordered) dict whose tensors point at storages, and one
    /// entry <c>&lt;name&gt;/data/&lt;key&gt;</c> of raw little-endian bytes per storage. Nothing in the pickle is executed: see
    /// <see cref="Unpickler"/>. Tensors that share a storage (tied weights, views) are each read as their own contiguous copy.
    /// </summary>
    /// <remarks>The pre-1.6 non-zip format (<c>_use_new_zipfile_serialization=False</c>) is refused with a message saying so.</remarks>
    public sealed class TorchCheckpointFile : IWeightSource
    {
        private readonly ZipArchive _zip;
        private readonly string _prefix;
        private readonly Dictionary<string, TensorReference> _references;
        private readonly List<CheckpointTensor> _tensors;

        private TorchCheckpointFile(string path, ZipArchive zip, string prefix, List<CheckpointTensor> tensors, Dictionary<string, TensorReference> references)
        {
            Description = path;
            _zip = zip;
            _prefix = prefix;
            _tensors = tensors;
            _references = references;
        }

        /// <inheritdoc/>
        public IReadOnlyList<CheckpointTensor> Tensors => _tensors;

        /// <inheritdoc/>
        public string Description { get; }

        /// <summary>Opens a checkpoint and reads its pickle (not its tensor data).</summary>
        /// <exception cref="FileNotFoundException">No such file.</exception>
        /// <exception cref="CheckpointFormatException">Truncated, not a zip checkpoint, a pickle that is not a dict of tensors, or an unsupported dtype.</exception>
        public static TorchCheckpointFile Open(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            path = Path.GetFullPath(path);
            if (!File.Exists(path))
                throw new FileNotFoundException($"No PyTorch checkpoint at '{path}'.", path);

            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            ZipArchive? zip = null;
            try
            {
                Span<byte> magic = stackalloc byte[2];
                if (stream.Read(magic) < 2 || magic[0] != (byte)'P' || magic[1] != (byte)'K')
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, path,
                        "not a zip archive; only the zip format torch.save writes since PyTorch 1.6 is supported (re-save without _use_new_zipfile_serialization=False).");
                stream.Position = 0;
                try
                {
                    zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
                }
                catch (InvalidDataException e)
                {
                    throw new CheckpointFormatException(CheckpointProblem.Truncated, path, $"the zip directory at the end of the file cannot be read ({e.Message}).");
                }

                var pickleEntry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                    ?? throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, "the archive has no '<name>/data.pkl' entry (not a torch.save file).");
                string prefix = pickleEntry.FullName[..^"data.pkl".Length];
                var byteOrder = zip.GetEntry(prefix + "byteorder");
                if (byteOrder is not null)
                {
                    using var reader = new StreamReader(byteOrder.Open());
                    if (reader.ReadToEnd().Trim() != "little")
                        throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, "the tensors are stored big-endian; only little-endian checkpoints are supported.");
                }

                byte[] pickle;
                using (var entryStream = pickleEntry.Open())
                using (var buffer = new MemoryStream())
                {
                    entryStream.CopyTo(buffer);
                    pickle = buffer.ToArray();
                }

                var root = Unpickler.Load(pickle, path);
                var (tensors, references) = Collect(path, root);
                foreach (var reference in references.Values.Select(r => r.Storage).DistinctBy(s => s.Key))
                {
                    var entry = zip.GetEntry(prefix + "data/" + reference.Key)
                        ?? throw new CheckpointFormatException(CheckpointProblem.Truncated, path, $"storage '{reference.Key}' has no entry '{prefix}data/{reference.Key}' in the archive.");
                    long needed = reference.ElementCount * DTypeNames.ElementSize(reference.DType);
                    if (entry.Length < needed)
                        throw new CheckpointFormatException(CheckpointProblem.Truncated, path, $"storage '{reference.Key}' should hold {needed} bytes but its entry has {entry.Length}.");
                }

                return new TorchCheckpointFile(path, zip, prefix, tensors, references);
            }
            catch
            {
                if (zip is not null) zip.Dispose(); else stream.Dispose();
                throw;
            }
        }

        /// <inheritdoc/>
        public Tensor Read(string name)
        {
            ArgumentNullException.ThrowIfNull(name);
            if (!_references.TryGetValue(name, out var reference))
                throw new KeyNotFoundException($"'{Description}' has no tensor '{name}'.");

            var storage = reference.Storage;
            using var flat = empty(new[] { storage.ElementCount }, storage.DType);
            if (storage.ElementCount > 0)
            {
                try
                {
                    using var entryStream = _zip.GetEntry(_prefix + "data/" + storage.Key)!.Open();
                    TensorBytes.CopyFrom(flat, (_, span) => entryStream.ReadExactly(span));
                }
                catch (Exception e) when (e is IOException or InvalidDataException)
                {
                    throw new CheckpointFormatException(CheckpointProblem.Truncated, Description, $"reading storage '{storage.Key}' of '{name}' failed: {e.Message}");
                }
            }

            using var view = flat.as_strided(reference.Shape, reference.Stride, reference.StorageOffset);
            var result = empty(reference.Shape, storage.DType);
            result.copy_(view);
            return result;
        }

        /// <inheritdoc/>
        public bool TryReadInto(string name, Tensor destination)
        {
            ArgumentNullException.ThrowIfNull(name);
            ArgumentNullException.ThrowIfNull(destination);
            if (!_references.TryGetValue(name, out var reference))
                throw new KeyNotFoundException($"'{Description}' has no tensor '{name}'.");
            var storage = reference.Storage;
            // Only a tensor that is its whole storage, in row-major order, streams straight in.
            if (destination.device_type != DeviceType.CPU || !destination.is_contiguous()
                || (destination.dtype != storage.DType && !(DTypeNames.IsFloating(storage.DType) && DTypeNames.IsFloating(destination.dtype)))
                || reference.StorageOffset != 0 || destination.numel() != storage.ElementCount || !RowMajor(reference))
                return false;
            if (storage.ElementCount == 0)
                return true;
            try
            {
                using var entryStream = _zip.GetEntry(_prefix + "data/" + storage.Key)!.Open();
                TensorBytes.CopyConverting(destination, storage.DType, 16L << 20, (_, span) => entryStream.ReadExactly(span));
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                throw new CheckpointFormatException(CheckpointProblem.Truncated, Description, $"reading storage '{storage.Key}' of '{name}' failed: {e.Message}");
            }

            return true;
        }

        private static bool RowMajor(TensorReference reference)
        {
            long expected = 1;
            for (int i = reference.Shape.Length - 1; i >= 0; i--)
            {
                if (reference.Shape[i] != 1 && reference.Stride[i] != expected)
                    return false;
                expected *= reference.Shape[i];
            }

            return true;
        }

        /// <summary>Closes the archive.</summary>
        public void Dispose() => _zip.Dispose();

        private static (List<CheckpointTensor>, Dictionary<string, TensorReference>) Collect(string path, object? root)
        {
            if (root is not PickleDict dict)
                throw new CheckpointFormatException(CheckpointProblem.BadHeader, path,
                    $"the pickled object is {Describe(root)}, not a state_dict; save model.state_dict(), not the model.");

            // A training checkpoint often nests the weights: {"model": state_dict, "optimizer": …} or {"state_dict": …}.
            if (!dict.Any(p => p.Value is TensorReference))
            {
                var nested = dict.FirstOrDefault(p => p.Key is "state_dict" or "model" or "model_state_dict" && p.Value is PickleDict);
                if (nested.Value is PickleDict inner)
                    dict = inner;
            }

            var tensors = new List<CheckpointTensor>();
            var references = new Dictionary<string, TensorReference>(StringComparer.Ordinal);
            foreach (var (key, value) in dict)
            {
                if (key is not string name)
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"a state_dict key is {Describe(key)}, not a string.");
                if (value is not TensorReference reference)
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"'{name}' holds {Describe(value)}, not a tensor.");
                long extent = reference.StorageOffset;
                for (int i = 0; i < reference.Shape.Length; i++)
                    if (reference.Shape[i] > 0)
                        extent += (reference.Shape[i] - 1) * reference.Stride[i];
                if (reference.Shape.Any(d => d == 0) ? reference.StorageOffset > reference.Storage.ElementCount : extent >= reference.Storage.ElementCount)
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, path,
                        $"'{name}' ({CheckpointTensor.FormatShape(reference.Shape)} at offset {reference.StorageOffset}) reaches past its storage of {reference.Storage.ElementCount} elements.");
                tensors.Add(new CheckpointTensor(name, reference.Storage.DType, reference.Shape));
                references[name] = reference;
            }

            return (tensors, references);
        }

        private static string Describe(object? value) => value switch
        {
            null => "None",
            PickleCall call => $"an object built by {call.Callable?.FullName ?? "an unknown callable"}",
            PickleGlobal global => global.FullName,
            string s => $"the string '{s}'",
            _ => $"a {value.GetType().Name}",
        };
    }
}
