using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace ModelGen.Specs
{
    /// <summary>
    /// An immutable array compared by its elements, so that specs holding it are values.
    /// Equality contract: two arrays are equal when they have the same length and their elements are pairwise
    /// equal by <see cref="EqualityComparer{T}.Default"/>; the default (null) array equals the empty array.
    /// </summary>
    public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
        where T : IEquatable<T>
    {
        // Generic code of the runtime library over a struct element (Dim) is compiled just in time in every compiler process
        // (docs/benchmarks-analyzers.md): an array is copied with Clone, the empty array is this type's own, and enumeration uses
        // this type's enumerator, all code of this assembly, which ReadyToRun precompiles.
        private static readonly T[] None = new T[0];

        private readonly T[]? _items;

        /// <summary>Wraps a copy of <paramref name="items"/>.</summary>
        public EquatableArray(IEnumerable<T> items) => _items = items is T[] array ? (T[])array.Clone() : items.ToArray();

        /// <summary>The empty array.</summary>
        public static EquatableArray<T> Empty => default;

        /// <summary>Number of elements.</summary>
        public int Count => _items?.Length ?? 0;

        /// <summary>The element at <paramref name="index"/>.</summary>
        public T this[int index] => (_items ?? None)[index];

        /// <inheritdoc />
        public bool Equals(EquatableArray<T> other)
        {
            var a = _items ?? None;
            var b = other._items ?? None;
            if (a.Length != b.Length)
                return false;
            for (var i = 0; i < a.Length; i++)
            {
                if (!EqualityComparer<T>.Default.Equals(a[i], b[i]))
                    return false;
            }
            return true;
        }

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        /// <inheritdoc />
        public override int GetHashCode()
        {
            unchecked
            {
                var hash = 17;
                foreach (var item in _items ?? None)
                    hash = (hash * 31) + (item is null ? 0 : item.GetHashCode());
                return hash;
            }
        }

        /// <summary>Element-wise equality.</summary>
        public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);

        /// <summary>Element-wise inequality.</summary>
        public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);

        /// <inheritdoc />
        public IEnumerator<T> GetEnumerator() => new Enumerator(_items ?? None);

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        // Enumerates like an array's enumerator: Current before MoveNext or after the end throws.
        private sealed class Enumerator : IEnumerator<T>
        {
            private readonly T[] _items;
            private int _index = -1;

            public Enumerator(T[] items) => _items = items;

            public T Current => _index >= 0 && _index < _items.Length ? _items[_index] : throw new InvalidOperationException("Enumeration has not started or has already finished.");

            object? IEnumerator.Current => Current;

            public bool MoveNext()
            {
                if (_index < _items.Length)
                    _index++;
                return _index < _items.Length;
            }

            public void Reset() => _index = -1;

            public void Dispose()
            {
            }
        }
    }

    /// <summary>Creates <see cref="EquatableArray{T}"/> values.</summary>
    public static class EquatableArray
    {
        /// <summary>Wraps the given items.</summary>
        public static EquatableArray<T> Create<T>(params T[] items) where T : IEquatable<T> => new(items);

        /// <summary>Copies a sequence into an equatable array.</summary>
        public static EquatableArray<T> ToEquatableArray<T>(this IEnumerable<T> items) where T : IEquatable<T> => new(items);
    }
}
