using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// One rank's file of a <see cref="ShardedCheckpoint"/>: the magic <c>MGSHARD1</c>, the entry count, then per entry the key, the
    /// whole tensor's shape and dtype, the range's offset and length, and its raw little-endian bytes.
    /// </summary>
    internal static class ShardFile
    {
        private static readonly byte[] s_magic = Encoding.ASCII.GetBytes("MGSHARD1");

        public static string Name(int rank, int size) =>
            string.Create(CultureInfo.InvariantCulture, $"rank-{rank:D5}-of-{size:D5}.bin");

        public static void Write(string path, IEnumerable<TensorSlice> slices)
        {
            var list = new List<TensorSlice>(slices);
            var temporary = path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            using (var writer = new BinaryWriter(stream, Encoding.UTF8)) {
                writer.Write(s_magic);
                writer.Write(list.Count);
                foreach (var slice in list) {
                    writer.Write(slice.Name);
                    writer.Write(slice.Shape.Length);
                    foreach (var dimension in slice.Shape)
                        writer.Write(dimension);
                    writer.Write((int)slice.DType);
                    writer.Write(slice.Offset);
                    using var values = slice.Values.detach().to(CPU).contiguous();
                    writer.Write(values.numel());
                    var bytes = values.bytes;
                    writer.Write((long)bytes.Length);
                    writer.Write(bytes);
                }
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }

        /// <summary>Reads every entry; the caller owns the returned tensors.</summary>
        /// <exception cref="InvalidDataException">The file is not a shard file or ends early.</exception>
        public static IEnumerable<TensorSlice> Read(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var magic = reader.ReadBytes(s_magic.Length);
            if (!magic.AsSpan().SequenceEqual(s_magic))
                throw new InvalidDataException($"{path} is not a ModelGen checkpoint shard (no MGSHARD1 header).");
            int count;
            try {
                count = reader.ReadInt32();
            } catch (EndOfStreamException e) {
                throw new InvalidDataException($"{path} ends before its entry count: the file is cut short.", e);
            }
            for (var i = 0; i < count; i++)
                yield return ReadEntry(reader, path);
        }

        private static TensorSlice ReadEntry(BinaryReader reader, string path)
        {
            try {
                var name = reader.ReadString();
                var shape = new long[reader.ReadInt32()];
                for (var d = 0; d < shape.Length; d++)
                    shape[d] = reader.ReadInt64();
                var dtype = (ScalarType)reader.ReadInt32();
                var offset = reader.ReadInt64();
                var length = reader.ReadInt64();
                var byteCount = reader.ReadInt64();
                var bytes = reader.ReadBytes(checked((int)byteCount));
                if (bytes.Length != byteCount)
                    throw new EndOfStreamException();
                var values = empty(length, dtype);
                values.bytes = bytes;
                return new TensorSlice(name, shape, dtype, offset, values);
            } catch (EndOfStreamException e) {
                throw new InvalidDataException($"{path} ends in the middle of an entry: the file is cut short.", e);
            }
        }
    }
}
