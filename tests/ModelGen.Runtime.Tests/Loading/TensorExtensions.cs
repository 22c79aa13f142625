using System.Linq;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Loading
{
    internal static class TensorExtensions
    {
        /// <summary>Same dtype, same shape, every element equal.</summary>
        public static bool SameAs(this Tensor a, Tensor b)
        {
            if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape))
                return false;
            using var eq = a.eq(b);
            using var all = eq.all();
            return all.item<bool>();
        }
    }
}
