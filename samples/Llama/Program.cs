using System;
using System.IO;
using System.Linq;
using LlamaSample;
using ModelGen;
using TorchSharp;
using static TorchSharp.torch;

Console.WriteLine("ModelGen sample: a Llama-3-style decoder.");
Console.WriteLine("At build time the analyzers checked Llama-3-8B (the config's defaults) against each [VramBudget]:");
Console.WriteLine("training at seq 8192 on 24 GB does not fit (warning MG0001 above); inference at seq 8192 does.");
Console.WriteLine();

MemoryReport.Print(Llama.DescribeModel(new LlamaConfig()));

// The same generated classes, built at a tiny size, train on the CPU.
var config = LlamaConfig.Tiny;
torch.manual_seed(0);
using var model = new Llama(config);
var parameters = model.parameters().Sum(p => p.numel());
Console.WriteLine($"Tiny model: {parameters:N0} parameters in {model.StoragePrecision}, layers checkpointed: {model.Blocks.All(b => b.CheckpointActivations)}");

// Next-token prediction on arithmetic sequences mod the vocabulary: easy to learn, so the loss visibly falls.
// ModelGen's AdamW: fp32 master weights for the bf16 parameters, temporaries freed per parameter, gradients freed after each
// step: what the memory model counts for the [VramBudget] training scenario.
using var optimizer = new ModelGen.Optimizers.AdamW(model.parameters(), learningRate: 3e-3, weightDecay: 0);
const int Steps = 40;
for (var step = 1; step <= Steps; step++)
{
    using var scope = torch.NewDisposeScope();
    var start = torch.randint(0, config.Vocab, new long[] { 8, 1 });
    var stride = torch.randint(1, 4, new long[] { 8, 1 });
    var tokens = (start + stride * torch.arange(17).unsqueeze(0)).remainder(config.Vocab);
    var inputs = tokens[.., ..16];
    var targets = tokens[.., 1..];
    var logits = model.call(inputs);
    var loss = Precision.CrossEntropyFp32(logits.reshape(-1, config.Vocab), targets.reshape(-1));
    loss.backward();
    optimizer.Step();
    if (step == 1 || step % 10 == 0)
        Console.WriteLine($"step {step,3}: loss {loss.item<float>():F3}");
}

// state_dict keys follow the documented layout: blocks.{i}.attn.q_proj.weight, blocks.{i}.mlp.gate_proj.weight, ...
var path = Path.Combine(Path.GetTempPath(), "modelgen-llama-tiny.bin");
model.save(path);
using var reloaded = new Llama(config);
reloaded.load(path);
model.eval();
reloaded.eval();
using (torch.no_grad())
{
    var probe = torch.arange(16).unsqueeze(0);
    var same = model.call(probe).Equals(reloaded.call(probe));
    Console.WriteLine($"saved and reloaded {model.state_dict().Count} tensors ({string.Join(", ", model.state_dict().Keys.Take(4))}, ...): outputs equal = {same}");
}
File.Delete(path);
