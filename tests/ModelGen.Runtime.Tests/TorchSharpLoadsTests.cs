using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests
{
    /// <summary>
    /// The canary: TorchSharp's native library really loads and computes in this process. Where it cannot
    /// (e.g. Debian 12's libstdc++ lacks GLIBCXX_3.4.32), this fails with TorchSharp's own load error instead of
    /// the tests quietly proving nothing; ./build.sh test runs them in a Debian 13 root file system there.
    /// </summary>
    public sealed class TorchSharpLoadsTests
    {
        [Fact]
        public void Native_library_loads_and_multiplies_on_the_cpu()
        {
            torch.InitializeDeviceType(DeviceType.CPU);

            // [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[19, 22], [43, 50]], worked by hand.
            using var a = torch.tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
            using var b = torch.tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
            using var product = a.matmul(b);

            Assert.Equal(new float[] { 19, 22, 43, 50 }, product.data<float>().ToArray());
        }
    }
}
