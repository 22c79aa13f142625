using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;
using Xunit;

namespace ModelGen.Core.Tests
{
    /// <summary><see cref="EquatableArray{T}"/> copies, compares and enumerates as an array does (its own enumerator and copy avoid just-in-time compiled runtime generics over struct elements).</summary>
    public class EquatableArrayTests
    {
        [Fact]
        public void CopiesAnArraySoLaterChangesToTheSourceDoNotShow()
        {
            var source = new[] { new Dim("Hidden", 64), Dim.Literal(3) };
            var copy = source.ToEquatableArray();
            source[0] = Dim.Literal(7);
            Assert.Equal(new[] { new Dim("Hidden", 64), Dim.Literal(3) }, copy.ToArray());
            Assert.Equal(copy, new List<Dim> { new("Hidden", 64), Dim.Literal(3) }.ToEquatableArray());
            Assert.Equal(copy.GetHashCode(), new[] { new Dim("Hidden", 64), Dim.Literal(3) }.ToEquatableArray().GetHashCode());
        }

        [Fact]
        public void EnumeratesLikeAnArray()
        {
            var dims = new[] { Dim.Literal(1), Dim.Literal(2), Dim.Literal(3) };
            var array = dims.ToEquatableArray();
            Assert.Equal(dims, array.Select(d => d).ToList());
            Assert.Empty(default(EquatableArray<Dim>));
            Assert.Equal(default(EquatableArray<Dim>), Array.Empty<Dim>().ToEquatableArray());

            using var enumerator = array.GetEnumerator();
            Assert.Throws<InvalidOperationException>(() => enumerator.Current);
            for (var i = 0; i < dims.Length; i++)
            {
                Assert.True(enumerator.MoveNext());
                Assert.Equal(dims[i], enumerator.Current);
                Assert.Equal(dims[i], ((IEnumerator)enumerator).Current);
            }
            Assert.False(enumerator.MoveNext());
            Assert.False(enumerator.MoveNext());
            Assert.Throws<InvalidOperationException>(() => enumerator.Current);
            enumerator.Reset();
            Assert.True(enumerator.MoveNext());
            Assert.Equal(dims[0], enumerator.Current);
        }
    }
}
