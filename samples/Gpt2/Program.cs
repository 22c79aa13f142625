using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Gpt2Sample;
using ModelGen;
using TorchSharp;
using static TorchSharp.torch;

Console.WriteLine("ModelGen sample: GPT-2.");

// The real size, built on the meta device: every parameter has its shape and dtype but no storage, so counting
// GPT-2 small's parameters allocates nothing. The head is tied to the token embedding and adds no parameter.
using (var full = new Gpt2(new Gpt2Config(), device: torch.META))
{
    var count = full.parameters().Sum(p => p.numel());
    Console.WriteLine($"GPT-2 small (vocab 50257, context 1024, width 768, 12 layers, 12 heads): {count:N0} parameters (published: 124,439,808).");
}

// The same generated classes at a tiny size train on the CPU.
var config = Gpt2Config.Tiny;
torch.manual_seed(0);
using var model = new Gpt2(config);
model.InitializeWeights();
Console.WriteLine($"Tiny model: {model.parameters().Sum(p => p.numel()):N0} parameters, {config.Layers} layers, width {config.Hidden}.");

// Next-token prediction on arithmetic sequences mod the vocabulary: learnable in a few dozen steps, so the loss visibly falls.
var optimizer = torch.optim.AdamW(model.parameters(), lr: 3e-3);
const int Steps = 40, Batch = 8, Length = 16;
var clock = Stopwatch.StartNew();
model.train();
for (var step = 1; step <= Steps; step++)
{
    using var scope = torch.NewDisposeScope();
    var start = torch.randint(0, config.Vocab, new long[] { Batch, 1 });
    var stride = torch.randint(1, 4, new long[] { Batch, 1 });
    var tokens = (start + stride * torch.arange(Length + 1).unsqueeze(0)).remainder(config.Vocab);
    optimizer.zero_grad();
    var logits = model.call(tokens[.., ..Length]);
    var loss = Precision.CrossEntropyFp32(logits.reshape(-1, config.Vocab), tokens[.., 1..].reshape(-1));
    loss.backward();
    optimizer.step();
    if (step == 1 || step % 10 == 0)
        Console.WriteLine($"step {step,3}: loss {loss.item<float>():F3}");
}
Console.WriteLine($"{Steps} steps in {clock.Elapsed.TotalSeconds:F1} s");

// Save, reload into a fresh model, and compare keys with the documented layout and outputs with the original.
var path = Path.Combine(Path.GetTempPath(), $"modelgen-gpt2-tiny-{Environment.ProcessId}.bin");
try
{
    model.save(path);
    using var reloaded = new Gpt2(config);
    reloaded.load(path);
    var keys = reloaded.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
    var layoutMatches = keys.SequenceEqual(Gpt2StateLayout.Keys(config));
    model.eval();
    reloaded.eval();
    using (torch.no_grad())
    {
        var probe = torch.arange(Length).unsqueeze(0);
        var same = model.call(probe).Equals(reloaded.call(probe));
        Console.WriteLine($"saved and reloaded {keys.Length} tensors: keys match the documented layout = {layoutMatches}, outputs equal = {same}");
    }
    Console.WriteLine($"  outside the blocks: {string.Join(", ", keys.Where(k => !k.StartsWith("h.", StringComparison.Ordinal)))}");
    Console.WriteLine($"  block 0: {string.Join(", ", keys.Where(k => k.StartsWith("h.0.", StringComparison.Ordinal)))}");
}
finally
{
    File.Delete(path);
}

// Text: GPT-2's tokenizer, a short text shipped with the sample, then generation with the KV cache (TextDemo.cs).
TextDemo.Run();
