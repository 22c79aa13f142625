using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Tokenizers;
using ModelGen;
using ModelGen.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt2Sample;

/// <summary>
/// Trains a tiny GPT-2 on the sample's short text (corpus.txt), tokenized with GPT-2's own byte-level BPE, then continues a prompt
/// with the generated <c>Generate</c> (KV cache), greedy and top-p, printing tokens as they come.
/// </summary>
/// <remarks>
/// The text uses a few hundred of GPT-2's 50,257 token ids, so the model's vocabulary is just those (a compact id per GPT-2 id,
/// mapped back before decoding): a 50,257-row embedding would cost most of the CPU time and teach nothing more here.
/// </remarks>
public static class TextDemo
{
    /// <summary>Runs the demo: trains for <paramref name="steps"/> steps, then generates.</summary>
    /// <param name="steps">AdamW steps on random windows of the text.</param>
    public static void Run(int steps = 300)
    {
        var tokenizer = TiktokenTokenizer.CreateForModel("gpt2");
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "corpus.txt"));
        var gpt2Ids = tokenizer.EncodeToIds(text);
        var vocabulary = gpt2Ids.Distinct().OrderBy(i => i).ToArray();
        var compact = vocabulary.Select((id, index) => (id, index)).ToDictionary(p => p.id, p => (long)p.index);
        var corpus = torch.tensor(gpt2Ids.Select(i => compact[i]).ToArray());
        Console.WriteLine($"Text: {text.Length} characters, {gpt2Ids.Count} GPT-2 tokens, {vocabulary.Length} distinct.");

        var config = Gpt2Config.Tiny with { Vocab = vocabulary.Length, Context = 64 };
        torch.manual_seed(0);
        using var model = new Gpt2(config);
        model.InitializeWeights();
        var optimizer = torch.optim.AdamW(model.parameters(), lr: 3e-3);
        const int Batch = 8, Length = 48;
        model.train();
        for (var step = 1; step <= steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var starts = torch.randint(0, corpus.shape[0] - Length - 1, new long[] { Batch, 1 });
            var windows = corpus[starts + torch.arange(Length + 1).unsqueeze(0)];
            optimizer.zero_grad();
            var logits = model.call(windows[.., ..Length]);
            var loss = Precision.CrossEntropyFp32(logits.reshape(-1, config.Vocab), windows[.., 1..].reshape(-1));
            loss.backward();
            optimizer.step();
            if (step == 1 || step % 100 == 0)
                Console.WriteLine($"text step {step,3}: loss {loss.item<float>():F3}");
        }

        model.eval();
        const string Prompt = "The keeper climbed";
        var prompt = tokenizer.EncodeToIds(Prompt).Select(i => compact[i]).ToArray();
        Generate(model, tokenizer, vocabulary, Prompt, prompt, "greedy", new GenerationOptions { MaxNewTokens = 24 });
        Generate(model, tokenizer, vocabulary, Prompt, prompt, "top-p 0.9, temperature 0.8",
            new GenerationOptions { MaxNewTokens = 24, Temperature = 0.8, TopP = 0.9, Seed = 1 });
    }

    private static void Generate(Gpt2 model, Tokenizer tokenizer, int[] vocabulary, string promptText, long[] prompt, string mode, GenerationOptions options)
    {
        Console.Write($"{mode}: {promptText}");
        var produced = new List<int>();
        var printed = "";
        var result = model.Generate(new[] { prompt }, options with
        {
            // Streaming: decode everything so far and print what is new, so a character split over two tokens prints whole.
            OnToken = (row, token, step) =>
            {
                produced.Add(vocabulary[token]);
                var decoded = tokenizer.Decode(produced) ?? "";
                Console.Write(decoded.Substring(Math.Min(printed.Length, decoded.Length)));
                printed = decoded;
            },
        });
        Console.WriteLine();
        Console.WriteLine($"  ({result.Tokens[0].Length} tokens, stopped on a stop token: {result.Stopped[0]})");
    }
}
