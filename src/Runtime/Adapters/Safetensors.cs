using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace ModelGen.Adapters
{
    /// <summary>
    /// Reads and writes the safetensors format: an 8-byte little-endian header length <c>N</c>, <c>N</c> bytes of UTF-8 JSON
    /// (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}</c>, offsets relative to
    /// the end of the header, padded with spaces to a multiple of 8), then the raw little-endian tensor bytes.
    /// </summary>
    internal static class Safetensors
    {
        private const string MetadataKey = "__metadata__";

        private static readonly Dictionary<ScalarType, string> DTypeNames = new()
        {
            [ScalarType.Float32] = "F32",
            [ScalarType.Float16] = "F16",
            [ScalarType.BFloat16] = "BF16",
            [ScalarType.Float64] = "F64",
        };

        /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> through a temporary file renamed at the end.</summary>
        /// <exception cref="ArgumentException">A dtype other than F32, F16, BF16 or F64, or a repeated name.</exception>
        public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata)
        {
            if (tensors.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() != tensors.Count)
                throw new ArgumentException("Tensor names in a safetensors file must be unique.", nameof(tensors));
            var blobs = new List<byte[]>();
            using var header = new MemoryStream();
            using (var json = new Utf8JsonWriter(header))
            {
                json.WriteStartObject();
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                    json.WriteString(key, value);
                json.WriteEndObject();
                long offset = 0;
                foreach (var (name, tensor) in tensors)
                {
                    if (!DTypeNames.TryGetValue(tensor.dtype, out var dtypeName))
                        throw new ArgumentException($"Cannot store '{name}' of dtype {tensor.dtype} in safetensors here; use F32, F16, BF16 or F64.", nameof(tensors));
                    var bytes = Bytes(tensor);
                    json.WriteStartObject(name);
                    json.WriteString("dtype", dtypeName);
                    json.WriteStartArray("shape");
                    foreach (var d in tensor.shape)
                        json.WriteNumberValue(d);
                    json.WriteEndArray();
                    json.WriteStartArray("data_offsets");
                    json.WriteNumberValue(offset);
                    json.WriteNumberValue(offset + bytes.Length);
                    json.WriteEndArray();
                    json.WriteEndObject();
                    offset += bytes.Length;
                    blobs.Add(bytes);
                }

                json.WriteEndObject();
            }

            // The data that follows starts 8-byte aligned, as the reference writer pads it.
            while (header.Length % 8 != 0)
                header.WriteByte((byte)' ');

            string temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
            try
            {
                using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
                {
                    file.Write(BitConverter.IsLittleEndian ? BitConverter.GetBytes(header.Length) : BitConverter.GetBytes(header.Length).Reverse().ToArray());
                    header.Position = 0;
                    header.CopyTo(file);
                    foreach (var blob in blobs)
                        file.Write(blob);
                }

                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temporary))
                    File.Delete(temporary);
            }
        }

        /// <summary>Reads every tensor of a safetensors file onto the CPU (the caller owns them) and its metadata.</summary>
        /// <exception cref="InvalidDataException">A malformed file; the message says what is wrong.</exception>
        public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
        {
            var data = File.ReadAllBytes(path);
            if (data.Length < 8)
                throw new InvalidDataException($"'{path}' is not a safetensors file: {data.Length} bytes, shorter than its 8-byte header length.");
            long headerLength = BitConverter.ToInt64(BitConverter.IsLittleEndian ? data.AsSpan(0, 8) : data.AsSpan(0, 8).ToArray().Reverse().ToArray());
            if (headerLength <= 0 || headerLength > data.Length - 8)
                throw new InvalidDataException($"'{path}' declares a {headerLength}-byte header but holds {data.Length} bytes.");
            long dataStart = 8 + headerLength;
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            try
            {
                using var doc = JsonDocument.Parse(data.AsMemory(8, (int)headerLength));
                foreach (var entry in doc.RootElement.EnumerateObject())
                {
                    if (entry.Name == MetadataKey)
                    {
                        foreach (var m in entry.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.GetString() ?? "";
                        continue;
                    }

                    var dtypeName = entry.Value.GetProperty("dtype").GetString();
                    var dtype = DTypeNames.FirstOrDefault(kv => kv.Value == dtypeName).Key;
                    if (!DTypeNames.ContainsKey(dtype) || DTypeNames[dtype] != dtypeName)
                        throw new InvalidDataException($"'{entry.Name}' in '{path}' has dtype {dtypeName}; only F32, F16, BF16 and F64 are read.");
                    var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    var tensor = empty(shape, dtype);
                    long expected = tensor.numel() * tensor.ElementSize;
                    if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] - offsets[0] != expected || dataStart + offsets[1] > data.Length)
                    {
                        tensor.Dispose();
                        throw new InvalidDataException(
                            $"'{entry.Name}' in '{path}' has data offsets [{string.Join(", ", offsets)}] that do not hold {expected} bytes inside the file.");
                    }

                    data.AsSpan((int)(dataStart + offsets[0]), (int)expected).CopyTo(tensor.bytes);
                    tensors[entry.Name] = tensor;
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                foreach (var t in tensors.Values)
                    t.Dispose();
                throw new InvalidDataException($"'{path}' has a malformed safetensors header: {e.Message}", e);
            }

            return (tensors, metadata);
        }

        private static byte[] Bytes(Tensor tensor)
        {
            using var cpu = tensor.detach().cpu().contiguous();
            return cpu.bytes.ToArray();
        }
    }
}
