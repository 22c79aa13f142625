using System;
using System.Threading;
using ModelGen.Quantization;
using TorchSharp;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// The bf16 prefill tile is kept by the calling thread from one prefill call to the next (a buffer allocated per call was
/// page-faulted anew on every call on some threads), grows to the largest layer's tile, and is freed by the first call that takes
/// no tile (a decode step), which is what the memory model counts (PrefillTile, Phases.Inference). Each case runs on a thread of its
/// own, so the thread-static tile starts empty.
/// </summary>
public sealed class PrefillTileLifetimeTests
{
    [Fact]
    public void A_thread_keeps_its_tile_between_prefill_calls_and_frees_it_at_a_decode_call()
    {
        var held = new long[5];
        OnNewThread(() =>
        {
            using var scope = NewDisposeScope();
            using var small = QuantizedLinear.FromLinear(GaussianLinear(256, 64, seed: 1), QuantKind.Int8, 0, false, ScalarType.BFloat16);
            using var large = QuantizedLinear.FromLinear(GaussianLinear(512, 128, seed: 2), QuantKind.Int4, 128, false, ScalarType.BFloat16);
            using var noGrad = no_grad();
            var prompt = GaussianInput(32, 256, seed: 3).to(ScalarType.BFloat16);
            held[0] = QuantizedLinear.HeldPrefillTileElements;
            small.call(prompt);
            held[1] = QuantizedLinear.HeldPrefillTileElements;
            small.call(prompt);
            held[2] = QuantizedLinear.HeldPrefillTileElements;
            large.call(GaussianInput(32, 512, seed: 4).to(ScalarType.BFloat16));
            held[3] = QuantizedLinear.HeldPrefillTileElements;
            small.call(GaussianInput(1, 256, seed: 5).to(ScalarType.BFloat16)); // one token: the int8 kernel, no tile
            held[4] = QuantizedLinear.HeldPrefillTileElements;
        });
        if (!Bf16TileDequantizer.Available)
        {
            Assert.All(held, h => Assert.Equal(0, h)); // no AVX-512: no tiles, nothing kept
            return;
        }
        Assert.Equal(new long[] { 0, 64 * 256, 64 * 256, 128 * 512, 0 }, held);
    }

    [Fact]
    public void Release_frees_the_tile_and_the_next_prefill_builds_it_again_with_the_same_output()
    {
        Tensor? first = null, again = null;
        long afterRelease = -1;
        OnNewThread(() =>
        {
            using var layer = QuantizedLinear.FromLinear(GaussianLinear(256, 64, seed: 6), QuantKind.NF4, 64, false, ScalarType.BFloat16);
            using var noGrad = no_grad();
            using var x = GaussianInput(32, 256, seed: 7).to(ScalarType.BFloat16);
            first = layer.call(x).DetachFromDisposeScope();
            QuantizedLinear.ReleasePrefillTile();
            afterRelease = QuantizedLinear.HeldPrefillTileElements;
            again = layer.call(x).DetachFromDisposeScope();
            QuantizedLinear.ReleasePrefillTile();
        });
        Assert.Equal(0, afterRelease);
        Assert.True(first!.allclose(again!, rtol: 0, atol: 0), "the output changed after the tile was released and rebuilt");
        first.Dispose();
        again!.Dispose();
    }

    private static void OnNewThread(Action body)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new InvalidOperationException("the case failed on its thread", failure);
    }
}
