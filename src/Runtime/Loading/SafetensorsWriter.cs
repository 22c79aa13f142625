using System;
using System.Collections.Generic;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>Writes tensors as one safetensors file (the layout <see cref="SafetensorsFile"/> reads).</summary>
    public static class SafetensorsWriter
    {
        /// <summary>
        /// Writes <paramref name="tensors"/> (e.g. a module's <c>state_dict()</c>) to <paramref name="path"/>, one tensor at a time,
        /// through a temporary file renamed into place, so a reader never sees a half-written file.
        /// </summary>
        /// <param name="path">Destination file.</param>
        /// <param name="tensors">Names and tensors, any device; written in name order, as the safetensors library does.</param>
        /// <param name="metadata">Optional <c>__metadata__</c> strings.</param>
        /// <exception cref="ArgumentException">A dtype safetensors cannot store, or a duplicate name.</exception>
        public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        {
            ArgumentNullException.ThrowIfNull(path);
            ArgumentNullException.ThrowIfNull(tensors);
            var ordered = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
            var duplicate = ordered.GroupBy(t => t.Key).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new ArgumentException($"Tensor name '{duplicate.Key}' appears twice.", nameof(tensors));

            var header = new Dictionary<string, object>(StringComparer.Ordinal);
            if (metadata is { Count: > 0 })
                header["__metadata__"] = metadata;
            long offset = 0;
            foreach (var (name, tensor) in ordered)
            {
                long length = tensor.numel() * DTypeNames.ElementSize(tensor.dtype);
                header[name] = new
                {
                    dtype = DTypeNames.ToSafetensors(tensor.dtype),
                    shape = tensor.shape,
                    data_offsets = new[] { offset, offset + length },
                };
                offset += length;
            }

            var json = JsonSerializer.SerializeToUtf8Bytes(header);
            // The specification pads the header with spaces to a multiple of 8 so the data section is aligned.
            int padded = (json.Length + 7) / 8 * 8;
            var headerBytes = new byte[padded];
            json.CopyTo(headerBytes, 0);
            headerBytes.AsSpan(json.Length).Fill((byte)' ');

            string temporary = path + ".tmp-" + Environment.ProcessId;
            try
            {
                using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
                {
                    Span<byte> length = stackalloc byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
                    stream.Write(length);
                    stream.Write(headerBytes);
                    foreach (var (_, tensor) in ordered)
                    {
                        using var cpu = tensor.detach().cpu().contiguous();
                        TensorBytes.CopyTo(cpu, span => stream.Write(span));
                    }
                }

                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temporary))
                    File.Delete(temporary);
            }
        }
    }
}
