using System;
using System.Collections.Generic;

namespace ModelGen.Inference
{
    /// <summary>How <see cref="TextGenerator"/> chooses tokens and when it stops.</summary>
    public sealed record GenerationOptions
    {
        /// <summary>Tokens generated per prompt at most.</summary>
        public int MaxNewTokens { get; init; } = 32;

        /// <summary>Softmax temperature; 0 = greedy (argmax, no sampling).</summary>
        public double Temperature { get; init; }

        /// <summary>Sample only among the k most likely tokens; 0 = no limit.</summary>
        public int TopK { get; init; }

        /// <summary>Nucleus sampling (Holtzman et al. 2020): sample among the fewest tokens whose probability sums to at least p; 1 = no limit.</summary>
        public double TopP { get; init; } = 1.0;

        /// <summary>Repetition penalty (Keskar et al. 2019, CTRL, §4.1): logits of tokens already in the sequence are divided by it when positive, multiplied when negative; 1 = none.</summary>
        public double RepetitionPenalty { get; init; } = 1.0;

        /// <summary>Token ids that end a sequence (the stop token is kept in the output).</summary>
        public IReadOnlyCollection<long> StopTokens { get; init; } = Array.Empty<long>();

        /// <summary>Token id used for left padding and after a sequence has stopped.</summary>
        public long PadToken { get; init; }

        /// <summary>Prompt tokens per forward during prefill: bounds the prefill's transient memory.</summary>
        public long PrefillChunk { get; init; } = 512;

        /// <summary>Seed of the sampling generator; null = a fresh random seed.</summary>
        public long? Seed { get; init; }

        /// <summary>Called once per generated token, in order: (prompt index, token id, step). Streaming output.</summary>
        public Action<int, long, int>? OnToken { get; init; }

        /// <summary>Checks the values.</summary>
        /// <exception cref="ArgumentException">A value out of range.</exception>
        public void Validate()
        {
            if (MaxNewTokens < 0) throw new ArgumentException($"MaxNewTokens must be ≥ 0, got {MaxNewTokens}.");
            if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"Temperature must be a finite number ≥ 0, got {Temperature}.");
            if (TopK < 0) throw new ArgumentException($"TopK must be ≥ 0, got {TopK}.");
            if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"TopP must be in (0, 1], got {TopP}.");
            if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty)) throw new ArgumentException($"RepetitionPenalty must be a finite number > 0, got {RepetitionPenalty}.");
            if (PrefillChunk <= 0) throw new ArgumentException($"PrefillChunk must be > 0, got {PrefillChunk}.");
        }
    }

    /// <summary>What <see cref="TextGenerator.Generate"/> produced.</summary>
    /// <param name="Tokens">The generated tokens of each prompt (prompt excluded; a stop token included).</param>
    /// <param name="Stopped">Whether each prompt ended on a stop token (else it reached <see cref="GenerationOptions.MaxNewTokens"/>).</param>
    public sealed record GenerationResult(IReadOnlyList<long[]> Tokens, IReadOnlyList<bool> Stopped);
}
