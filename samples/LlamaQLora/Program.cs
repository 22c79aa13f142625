using System;
using System.IO;
using System.Linq;
using LlamaQLoraSample;
using ModelGen;
using ModelGen.Adapters;
using ModelGen.Memory;
using ModelGen.Optimizers;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

// The memory model's figure for the real size (what the analyzer checks at compile time).
var real = QLoraLlama.DescribeModel(new QLoraConfig());
var scenario = new ScenarioSpec(24, Workload.Training, 2048, 1, Optimizer.AdamW);
var estimate = MemoryModel.Estimate(real, scenario);
Console.WriteLine($"Llama-3-8B-shaped QLoRA (r=16, attention and MLP), seq 2048, batch 1: {Breakdown.Gigabytes(estimate.PeakBytes)} GB of 24, " +
                  $"{estimate.TrainableParameterCount:N0} trainable of {estimate.ParameterCount:N0} parameters");

// Fine-tune the tiny configuration on CPU: learn to continue a fixed token pattern.
torch.manual_seed(0);
var config = QLoraConfig.Tiny;
using var model = new QLoraLlama(config);
var baseWeights = model.state_dict().Where(kv => !kv.Key.Contains(".lora_")).ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
using var optimizer = new AdamW8Bit(LoRA.TrainableParameters(model), lr: 5e-3);
var tokens = (torch.arange(0, 33, dtype: ScalarType.Int64) * 7 % config.Vocab).unsqueeze(0);
var input = tokens[.., ..^1];
var target = tokens[.., 1..];
for (var step = 0; step < 60; step++)
{
    using var scope = torch.NewDisposeScope();
    var logits = model.call(input).to_type(ScalarType.Float32);
    var loss = nn.functional.cross_entropy(logits.reshape(-1, config.Vocab), target.reshape(-1));
    loss.backward();
    optimizer.step();
    optimizer.zero_grad();
    if (step % 10 == 0 || step == 59)
        Console.WriteLine($"step {step,2}: loss {loss.item<float>():F4}");
}

// Save the adapters alone (PEFT names), reload them into a fresh base with the same weights, compare.
var directory = Path.Combine(Path.GetTempPath(), "llama-qlora-adapter");
LoRA.Save(model, directory);
using var fresh = new QLoraLlama(config);
fresh.load_state_dict(baseWeights, strict: false);
LoRA.Load(fresh, directory);
model.eval();
fresh.eval();
using (torch.no_grad())
{
    var same = model.call(input).eq(fresh.call(input)).all().item<bool>();
    Console.WriteLine($"adapters saved to {directory}; reloaded into a fresh base: outputs {(same ? "identical" : "DIFFERENT")}");
    if (!same)
        return 1;
}
return 0;
