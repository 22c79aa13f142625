using System;
using System.Collections.Generic;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>
/// The <c>trace</c> of an inference row: before and after every sub-module's forward (prefill and decode), the resident set
/// above the baseline, the high-water mark since the previous line (the peak inside that interval), and the managed heap's
/// allocated bytes, so the step where the measured peak happens can be compared with the memory model's step terms.
/// </summary>
internal sealed class InferenceTrace : IDisposable
{
    private readonly List<Action> _removers = new();
    private readonly long _baseline;
    private readonly long _managedBaseline;

    /// <summary>Hooks every <c>Module&lt;Tensor, Tensor&gt;</c> of <paramref name="model"/>; lines are printed as they happen.</summary>
    public InferenceTrace(nn.Module model, long baseline)
    {
        _baseline = baseline;
        _managedBaseline = GC.GetTotalMemory(false);
        Console.WriteLine("| event | resident (MiB) | peak since previous (MiB) | managed heap (MiB) | gen0 GCs | methods jitted |");
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not nn.Module<Tensor, Tensor> hookable || name.Length == 0)
                continue;
            var label = name;
            _removers.Add(hookable.register_forward_pre_hook((_, input) => { Line("enter " + label); return input; }).remove);
            _removers.Add(hookable.register_forward_hook((_, _, output) => { Line("leave " + label); return output; }).remove);
        }
    }

    /// <summary>Prints one line for <paramref name="what"/> and resets the high-water mark.</summary>
    public void Line(string what)
    {
        const double MiB = 1 << 20;
        var peak = ResidentMemory.Peak;
        var current = ResidentMemory.Current;
        ResidentMemory.ResetPeak();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {what} | {(current - _baseline) / MiB:F1} | {(peak - _baseline) / MiB:F1} | {(GC.GetTotalMemory(false) - _managedBaseline) / MiB:F1} | {GC.CollectionCount(0)} | {System.Runtime.JitInfo.GetCompiledMethodCount()} |"));
    }

    /// <summary><paramref name="model"/> with a line before and after each of its cached forwards (prefill chunk or decode step).</summary>
    public ModelGen.Inference.ICachedLanguageModel Wrap(ModelGen.Inference.ICachedLanguageModel model) => new Traced(model, this);

    private sealed class Traced(ModelGen.Inference.ICachedLanguageModel inner, InferenceTrace trace) : ModelGen.Inference.ICachedLanguageModel
    {
        private int _calls;

        public ModelGen.Inference.KvCacheOptions CacheOptions(long batch, long maxLength) => inner.CacheOptions(batch, maxLength);

        public Tensor Forward(Tensor tokens, ModelGen.Inference.KvCache cache, Tensor positions, Tensor padding)
        {
            var call = _calls++;
            trace.Line($"forward {call} begins ({tokens.shape[1]} tokens; cache allocated)");
            var logits = inner.Forward(tokens, cache, positions, padding);
            trace.Line($"forward {call} returned");
            return logits;
        }
    }

    /// <summary>Removes the hooks.</summary>
    public void Dispose()
    {
        foreach (var remove in _removers)
            remove();
    }
}
