using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using System.Text;

namespace ModelGen.Loading
{
    /// <summary>A Python global a pickle names (<c>module.name</c>), e.g. <c>torch._utils._rebuild_tensor_v2</c>.</summary>
    internal sealed record PickleGlobal(string Module, string Name)
    {
        public string FullName => Module + "." + Name;
    }

    /// <summary>A call the unpickler did not interpret (an object it has no reason to build), kept for messages.</summary>
    internal sealed record PickleCall(PickleGlobal? Callable, object?[] Arguments);

    /// <summary>A storage named by a persistent id: <c>('storage', torch.FloatStorage, key, location, numel)</c>.</summary>
    internal sealed record StorageReference(string Key, TorchSharp.torch.ScalarType DType, long ElementCount, string Location);

    /// <summary>A tensor rebuilt by <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)</c>.</summary>
    internal sealed record TensorReference(StorageReference Storage, long StorageOffset, long[] Shape, long[] Stride);

    /// <summary>
    /// The subset of Python's pickle protocol (2 to 5) that <c>torch.save</c> of a state_dict emits, interpreted without
    /// executing anything: globals are names, and only the callables a state_dict needs are given meaning
    /// (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>, <c>_rebuild_parameter</c>); any other call
    /// becomes an inert <see cref="PickleCall"/>. Opcodes: Python's <c>Lib/pickletools.py</c>.
    /// </summary>
    internal sealed class Unpickler
    {
        private readonly byte[] _data;
        private readonly string _path;
        private readonly Dictionary<long, object?> _memo = new();
        private readonly List<object?> _stack = new();
        private readonly Stack<int> _marks = new();
        private int _position;

        private static readonly object Mark = new();

        private Unpickler(byte[] data, string path)
        {
            _data = data;
            _path = path;
        }

        /// <summary>Reads one pickled object.</summary>
        /// <exception cref="CheckpointFormatException">An opcode outside the supported set, or a malformed stream.</exception>
        public static object? Load(byte[] data, string path)
        {
            var unpickler = new Unpickler(data, path);
            try
            {
                return unpickler.Run();
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidCastException or InvalidOperationException or KeyNotFoundException)
            {
                throw unpickler.Bad($"malformed pickle near byte {unpickler._position} ({e.Message}).");
            }
        }

        private object? Run()
        {
            while (true)
            {
                if (_position >= _data.Length)
                    throw Bad("the pickle ends without a STOP opcode.");
                byte op = _data[_position++];
                switch (op)
                {
                    case 0x80: _position++; break; // PROTO
                    case 0x95: _position += 8; break; // FRAME
                    case (byte)'.': return Pop(); // STOP
                    case (byte)'}': Push(new PickleDict()); break;
                    case (byte)']': Push(new List<object?>()); break;
                    case (byte)')': Push(Array.Empty<object?>()); break;
                    case (byte)'(': _marks.Push(_stack.Count); break;
                    case (byte)'q': _memo[_data[_position++]] = Top(); break; // BINPUT
                    case (byte)'r': _memo[ReadUInt32()] = Top(); break; // LONG_BINPUT
                    case 0x94: _memo[_memo.Count] = Top(); break; // MEMOIZE
                    case (byte)'h': Push(_memo[_data[_position++]]); break; // BINGET
                    case (byte)'j': Push(_memo[ReadUInt32()]); break; // LONG_BINGET
                    case (byte)'X': Push(ReadString(ReadUInt32())); break; // BINUNICODE
                    case 0x8c: Push(ReadString(_data[_position++])); break; // SHORT_BINUNICODE
                    case 0x8d: Push(ReadString(checked((long)ReadUInt64()))); break; // BINUNICODE8
                    case (byte)'U': Push(ReadString(_data[_position++])); break; // SHORT_BINSTRING
                    case (byte)'T': Push(ReadString(ReadUInt32())); break; // BINSTRING
                    case (byte)'C': Push(ReadBytes(_data[_position++])); break; // SHORT_BINBYTES
                    case (byte)'B': Push(ReadBytes(ReadUInt32())); break; // BINBYTES
                    case (byte)'c': Push(new PickleGlobal(ReadLine(), ReadLine())); break; // GLOBAL
                    case 0x93: { var name = (string)Pop()!; var module = (string)Pop()!; Push(new PickleGlobal(module, name)); break; } // STACK_GLOBAL
                    case (byte)'t': Push(PopToMark().ToArray()); break; // TUPLE
                    case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)'K': Push((long)_data[_position++]); break; // BININT1
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                    case 0x8a: Push(ReadLong(_data[_position++])); break; // LONG1
                    case 0x8b: Push(ReadLong(ReadUInt32())); break; // LONG4
                    case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                    case 0x88: Push(true); break; // NEWTRUE
                    case 0x89: Push(false); break; // NEWFALSE
                    case (byte)'N': Push(null); break; // NONE
                    case (byte)'0': Pop(); break; // POP
                    case (byte)'1': PopToMark(); break; // POP_MARK
                    case (byte)'2': Push(Top()); break; // DUP
                    case (byte)'R': { var args = (object?[])Pop()!; var callable = Pop(); Push(Call(callable, args)); break; } // REDUCE
                    case 0x81: { var args = (object?[])Pop()!; var cls = Pop(); Push(new PickleCall(cls as PickleGlobal, args)); break; } // NEWOBJ
                    case (byte)'b': Pop(); break; // BUILD: the state (a state_dict's _metadata) is not needed
                    case (byte)'s': { var value = Pop(); var key = Pop(); ((PickleDict)Top()!).Add(key!, value); break; } // SETITEM
                    case (byte)'u': { var items = PopToMark(); var dict = (PickleDict)Top()!; for (int i = 0; i + 1 < items.Count; i += 2) dict.Add(items[i]!, items[i + 1]); break; } // SETITEMS
                    case (byte)'a': { var value = Pop(); ((List<object?>)Top()!).Add(value); break; } // APPEND
                    case (byte)'e': { var items = PopToMark(); ((List<object?>)Top()!).AddRange(items); break; } // APPENDS
                    case (byte)'Q': Push(PersistentLoad(Pop())); break; // BINPERSID
                    default:
                        throw Bad($"pickle opcode 0x{op:x2} at byte {_position - 1} is not one a torch.save state_dict uses.");
                }
            }
        }

        private object? Call(object? callable, object?[] args)
        {
            var global = callable as PickleGlobal;
            switch (global?.FullName)
            {
                case "collections.OrderedDict":
                    return new PickleDict();
                case "torch._utils._rebuild_tensor_v2":
                case "torch._utils._rebuild_tensor":
                    return new TensorReference((StorageReference)args[0]!, (long)args[1]!, ToLongs(args[2]), ToLongs(args[3]));
                case "torch._utils._rebuild_parameter":
                case "torch._utils._rebuild_parameter_with_state":
                    return args[0];
                default:
                    return new PickleCall(global, args);
            }
        }

        private StorageReference PersistentLoad(object? pid)
        {
            if (pid is not object?[] { Length: 5 } tuple || tuple[0] is not "storage" || tuple[1] is not PickleGlobal type)
                throw Bad("a persistent id is not ('storage', type, key, location, numel).");
            if (!DTypeNames.TryFromTorchStorage(type.Name, out var dtype))
                throw new CheckpointFormatException(CheckpointProblem.UnsupportedDType, _path, $"a tensor is stored as {type.FullName}, which TorchSharp cannot hold.");
            return new StorageReference(Convert.ToString(tuple[2], System.Globalization.CultureInfo.InvariantCulture)!, dtype, (long)tuple[4]!, (string)tuple[3]!);
        }

        private static long[] ToLongs(object? tuple) => Array.ConvertAll((object?[])tuple!, x => (long)x!);

        private CheckpointFormatException Bad(string detail) => new(CheckpointProblem.BadHeader, _path, detail);

        private void Push(object? value) => _stack.Add(value);

        private object? Top() => _stack[^1];

        private object? Pop()
        {
            var value = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            return value;
        }

        private List<object?> PopToMark()
        {
            int start = _marks.Pop();
            var items = _stack.GetRange(start, _stack.Count - start);
            _stack.RemoveRange(start, _stack.Count - start);
            return items;
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (_position + count > _data.Length)
                throw Bad($"the pickle ends inside an opcode's argument at byte {_position}.");
            var span = _data.AsSpan(_position, count);
            _position += count;
            return span;
        }

        private uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        private ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        private string ReadString(long length) => Encoding.UTF8.GetString(Take(checked((int)length)));

        private byte[] ReadBytes(long length) => Take(checked((int)length)).ToArray();

        private string ReadLine()
        {
            int end = Array.IndexOf(_data, (byte)'\n', _position);
            if (end < 0)
                throw Bad("a GLOBAL opcode's name has no end of line.");
            var text = Encoding.UTF8.GetString(_data, _position, end - _position);
            _position = end + 1;
            return text;
        }

        private object ReadLong(long length)
        {
            var bytes = Take(checked((int)length));
            var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
            return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
        }
    }

    /// <summary>A Python dict as unpickled: insertion-ordered key/value pairs.</summary>
    internal sealed class PickleDict : List<KeyValuePair<object, object?>>
    {
        public void Add(object key, object? value) => Add(new KeyValuePair<object, object?>(key, value));
    }
}
