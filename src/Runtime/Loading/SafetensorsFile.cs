using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Linq;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>
    /// One Hugging Face safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header
    /// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}</c>, offsets relative to the end
    /// of the header) and the raw little-endian tensor bytes (the format's specification in the safetensors repository).
    /// </summary>
    /// <remarks>
    /// The header is checked completely when the file is opened: a header that runs past the end, invalid JSON, a dtype
    /// TorchSharp cannot hold, offsets that disagree with the shape, overlap, or point past the end of the file each get their
    /// own <see cref="CheckpointFormatException"/>. Reading maps 16 MiB of the file at a time and unmaps it before mapping the
    /// next, so the file's pages never pile up in the process's resident memory.
    /// </remarks>
    public sealed class SafetensorsFile : IWeightSource
    {
        // The format caps the header at 100 MB, so a corrupted length field is caught before any allocation.
        private const long MaxHeaderBytes = 100_000_000;

        private readonly MemoryMappedFile _map;
        private readonly Dictionary<string, (CheckpointTensor Tensor, long Offset)> _byName;
        private readonly List<CheckpointTensor> _tensors;

        private SafetensorsFile(string path, MemoryMappedFile map, List<CheckpointTensor> tensors, Dictionary<string, (CheckpointTensor, long)> byName,
            IReadOnlyDictionary<string, string> metadata)
        {
            Description = path;
            _map = map;
            _tensors = tensors;
            _byName = byName;
            Metadata = metadata;
        }

        /// <inheritdoc/>
        public IReadOnlyList<CheckpointTensor> Tensors => _tensors;

        /// <inheritdoc/>
        public string Description { get; }

        /// <summary>The header's free-form <c>__metadata__</c> strings (e.g. <c>format: pt</c>); empty when it has none.</summary>
        public IReadOnlyDictionary<string, string> Metadata { get; }

        /// <summary>Opens a file and checks its header.</summary>
        /// <exception cref="FileNotFoundException">No such file.</exception>
        /// <exception cref="CheckpointFormatException">Truncated, a bad header, or an unsupported dtype.</exception>
        public static SafetensorsFile Open(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            path = Path.GetFullPath(path);
            long fileLength = new FileInfo(path).Exists ? new FileInfo(path).Length : throw new FileNotFoundException($"No safetensors file at '{path}'.", path);
            if (fileLength < 8)
                throw new CheckpointFormatException(CheckpointProblem.Truncated, path, $"the file has {fileLength} bytes, fewer than the 8 of the header length.");

            byte[] header;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                Span<byte> lengthBytes = stackalloc byte[8];
                stream.ReadExactly(lengthBytes);
                ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
                if (headerLength > MaxHeaderBytes)
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"the header length field says {headerLength} bytes, more than the format's limit of {MaxHeaderBytes} (not a safetensors file?).");
                if ((long)headerLength > fileLength - 8)
                    throw new CheckpointFormatException(CheckpointProblem.Truncated, path, $"the header should have {headerLength} bytes but the file has only {fileLength - 8} after the length field.");
                header = new byte[headerLength];
                stream.ReadExactly(header);
            }

            long dataStart = 8 + header.Length;
            var (tensors, byName, metadata) = ParseHeader(path, header, fileLength - dataStart, dataStart);
            // An empty data section cannot be mapped; a file holding only empty tensors needs no mapping at all.
            var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            return new SafetensorsFile(path, map, tensors, byName, metadata);
        }

        /// <inheritdoc/>
        public Tensor Read(string name)
        {
            ArgumentNullException.ThrowIfNull(name);
            if (!_byName.TryGetValue(name, out var entry))
                throw new KeyNotFoundException($"'{Description}' has no tensor '{name}'.");
            var result = empty(entry.Tensor.Shape, entry.Tensor.DType);
            long length = entry.Tensor.ByteLength;
            if (length == 0)
                return result;
            try
            {
                TensorBytes.CopyFrom(result, (offset, span) => ReadMapped(entry.Offset + offset, span));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                result.Dispose();
                throw new CheckpointFormatException(CheckpointProblem.Truncated, Description, $"reading '{name}' failed after the file was opened: {e.Message}");
            }

            return result;
        }

        /// <inheritdoc/>
        /// <remarks>A floating tensor stored in another floating dtype is converted on the way in, 16 MiB at a time.</remarks>
        public bool TryReadInto(string name, Tensor destination)
        {
            ArgumentNullException.ThrowIfNull(name);
            ArgumentNullException.ThrowIfNull(destination);
            if (!_byName.TryGetValue(name, out var entry))
                throw new KeyNotFoundException($"'{Description}' has no tensor '{name}'.");
            var stored = entry.Tensor;
            if (destination.device_type != DeviceType.CPU || !destination.is_contiguous() || destination.numel() != stored.ElementCount
                || (destination.dtype != stored.DType && !(DTypeNames.IsFloating(stored.DType) && DTypeNames.IsFloating(destination.dtype))))
                return false;
            if (stored.ByteLength == 0)
                return true;
            try
            {
                TensorBytes.CopyConverting(destination, stored.DType, MappedChunkBytes, (offset, span) => ReadMapped(entry.Offset + offset, span));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointFormatException(CheckpointProblem.Truncated, Description, $"reading '{name}' failed after the file was opened: {e.Message}");
            }

            return true;
        }

        // Bytes mapped at once: the file's pages count in the resident set while mapped, so a tensor is mapped a piece at a time.
        private const long MappedChunkBytes = 16L << 20;

        /// <summary>Copies file bytes [offset, offset + span.Length) through mapped views of at most <see cref="MappedChunkBytes"/>.</summary>
        private void ReadMapped(long offset, Span<byte> destination)
        {
            for (int done = 0; done < destination.Length;)
            {
                int count = (int)Math.Min(MappedChunkBytes, destination.Length - done);
                using var view = _map.CreateViewAccessor(offset + done, count, MemoryMappedFileAccess.Read);
                view.SafeMemoryMappedViewHandle.ReadSpan((ulong)view.PointerOffset, destination.Slice(done, count));
                done += count;
            }
        }

        /// <summary>Unmaps the file.</summary>
        public void Dispose() => _map.Dispose();

        private static (List<CheckpointTensor>, Dictionary<string, (CheckpointTensor, long)>, Dictionary<string, string>) ParseHeader(
            string path, byte[] header, long dataLength, long dataStart)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(header);
            }
            catch (JsonException e)
            {
                throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"the header is not valid JSON ({e.Message}).");
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, "the header is not a JSON object.");

                var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                var entries = new List<(CheckpointTensor Tensor, long Begin, long End)>();
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Name == "__metadata__")
                    {
                        if (property.Value.ValueKind == JsonValueKind.Object)
                            foreach (var m in property.Value.EnumerateObject())
                                metadata[m.Name] = m.Value.ToString();
                        continue;
                    }

                    entries.Add(ParseEntry(path, property));
                }

                // Data offsets must tile the data section without overlap (the specification requires a dense buffer; we
                // accept gaps but never overlap or running past the end).
                entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
                long previousEnd = 0;
                string previousName = "";
                foreach (var (tensor, begin, end) in entries)
                {
                    if (begin < previousEnd)
                        throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"tensor '{tensor.Name}' starts at byte {begin}, inside '{previousName}' (which ends at {previousEnd}).");
                    if (end > dataLength)
                        throw new CheckpointFormatException(CheckpointProblem.Truncated, path, $"tensor '{tensor.Name}' needs bytes {begin}–{end} of the data section, but the file holds only {dataLength} bytes of data.");
                    previousEnd = end;
                    previousName = tensor.Name;
                }

                var tensors = entries.Select(e => e.Tensor).ToList();
                var byName = entries.ToDictionary(e => e.Tensor.Name, e => (e.Tensor, dataStart + e.Begin), StringComparer.Ordinal);
                return (tensors, byName, metadata);
            }
        }

        private static (CheckpointTensor, long, long) ParseEntry(string path, JsonProperty property)
        {
            string name = property.Name;
            var value = property.Value;
            if (value.ValueKind != JsonValueKind.Object
                || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
                || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
                || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
                || offsetsElement.GetArrayLength() != 2)
                throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"the entry of '{name}' needs \"dtype\" (string), \"shape\" (array) and \"data_offsets\" ([begin, end]).");

            string dtypeName = dtypeElement.GetString()!;
            if (!DTypeNames.TryFromSafetensors(dtypeName, out var dtype))
                throw new CheckpointFormatException(CheckpointProblem.UnsupportedDType, path, $"tensor '{name}' has dtype '{dtypeName}', which TorchSharp cannot hold (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL).");

            var shape = new long[shapeElement.GetArrayLength()];
            int i = 0;
            foreach (var d in shapeElement.EnumerateArray())
            {
                if (!d.TryGetInt64(out shape[i]) || shape[i] < 0)
                    throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"tensor '{name}' has shape {shapeElement}, which is not a list of non-negative integers.");
                i++;
            }

            if (!offsetsElement[0].TryGetInt64(out long begin) || !offsetsElement[1].TryGetInt64(out long end) || begin < 0 || end < begin)
                throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"tensor '{name}' has data_offsets {offsetsElement}, not two integers 0 ≤ begin ≤ end.");

            var tensor = new CheckpointTensor(name, dtype, shape);
            long expected;
            try
            {
                expected = tensor.ByteLength;
            }
            catch (OverflowException)
            {
                throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"tensor '{name}' has shape {tensor.ShapeText}, too large to address.");
            }

            if (end - begin != expected)
                throw new CheckpointFormatException(CheckpointProblem.BadHeader, path, $"tensor '{name}' ({dtypeName} {tensor.ShapeText}) needs {expected} bytes, but its data_offsets [{begin}, {end}] span {end - begin}.");
            return (tensor, begin, end);
        }
    }
}
