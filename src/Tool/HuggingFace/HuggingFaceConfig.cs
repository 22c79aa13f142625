using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using ModelGen.Specs;

namespace ModelGen.Tool.HuggingFace
{
    /// <summary>
    /// Reads a Hugging Face <c>config.json</c> into the <see cref="ModelSpec"/> ModelGen's attributes would declare for that
    /// architecture, so a model can be planned before any C# is written (as accelerate's <c>estimate-memory</c> reads the hub
    /// config). Families: <c>llama</c> and <c>mistral</c> (RMSNorm, rotary grouped-query attention, SwiGLU), <c>gpt2</c>
    /// (learned positions, eager biased attention, GELU, tied head, dropout), <c>bert</c> (post-norm encoder with the
    /// masked-language-model head of <c>BertForMaskedLM</c>).
    /// </summary>
    internal static class HuggingFaceConfig
    {
        /// <summary>The <c>model_type</c> values this reader knows.</summary>
        public static readonly string[] Families = { "llama", "mistral", "gpt2", "bert" };

        /// <summary>Whether <paramref name="path"/> looks like a Hugging Face config (a .json file).</summary>
        public static bool IsConfigPath(string path) => path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

        /// <summary>Reads <paramref name="path"/>.</summary>
        /// <exception cref="ToolException">The file is missing, not JSON, of an unknown family, or lacks a size.</exception>
        public static HuggingFaceModel Read(string path)
        {
            if (!File.Exists(path))
                throw new ToolException($"No such file: {path}");
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            }
            catch (JsonException e)
            {
                throw new ToolException($"{path} is not valid JSON: {e.Message}");
            }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw new ToolException($"{path} is not a Hugging Face config: its top level is not an object.");
                var json = new ConfigJson(document.RootElement, path);
                var family = json.String("model_type") ?? throw new ToolException(
                    $"{path} has no \"model_type\"; ModelGen reads the families {string.Join(", ", Families)}.");
                var spec = family.ToLowerInvariant() switch
                {
                    "llama" or "mistral" => LlamaFamily.Build(json, family.ToLowerInvariant()),
                    "gpt2" => Gpt2Family.Build(json),
                    "bert" => BertFamily.Build(json),
                    _ => throw new ToolException($"{path}: model_type \"{family}\" is not one ModelGen reads; it reads {string.Join(", ", Families)}."),
                };
                return new HuggingFaceModel(spec, family.ToLowerInvariant(), json.Long("max_position_embeddings") ?? json.Long("n_positions") ?? json.Long("n_ctx"));
            }
        }

        /// <summary>The storage precision a config's <c>torch_dtype</c> names; fp32 when absent (GPT-2 and BERT ship fp32 weights).</summary>
        internal static DType? Precision(ConfigJson json) => (json.String("torch_dtype") ?? json.String("dtype"))?.ToLowerInvariant() switch
        {
            null or "float32" or "fp32" => null,
            "bfloat16" or "bf16" => DType.BFloat16,
            "float16" or "fp16" or "half" => DType.Float16,
            var other => throw new ToolException($"{json.Path}: torch_dtype \"{other}\" is not a precision ModelGen stores (float32, bfloat16, float16)."),
        };
    }

    /// <summary>A config read into a spec.</summary>
    /// <param name="Spec">The model.</param>
    /// <param name="Family">Its <c>model_type</c>.</param>
    /// <param name="MaxPositions">The longest sequence its position embedding or rotary setup is made for, when the config says.</param>
    internal sealed record HuggingFaceModel(ModelSpec Spec, string Family, long? MaxPositions);

    /// <summary>Typed reads of a config's top-level members, with messages that name the file and the key.</summary>
    internal sealed class ConfigJson
    {
        private readonly JsonElement _root;

        public ConfigJson(JsonElement root, string path)
        {
            _root = root;
            Path = path;
        }

        /// <summary>The file, for messages.</summary>
        public string Path { get; }

        public string? String(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        public long? Long(string key)
        {
            if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
                return null;
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var value))
                return value;
            throw new ToolException($"{Path}: \"{key}\" should be a whole number, not {v.GetRawText()}.");
        }

        public double? Double(string key)
        {
            if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
                return null;
            if (v.ValueKind == JsonValueKind.Number)
                return v.GetDouble();
            throw new ToolException($"{Path}: \"{key}\" should be a number, not {v.GetRawText()}.");
        }

        /// <summary>How many entries the object under <paramref name="key"/> has (<c>id2label</c>); null when it is absent or not an object.</summary>
        public int? EntryCount(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Object ? v.EnumerateObject().Count() : null;

        public bool? Bool(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

        /// <summary>A positive size the model needs, under the first of <paramref name="keys"/> present.</summary>
        public long Size(params string[] keys)
        {
            foreach (var key in keys)
            {
                if (Long(key) is { } value)
                {
                    if (value <= 0)
                        throw new ToolException($"{Path}: \"{key}\" is {value.ToString(CultureInfo.InvariantCulture)}; a size must be positive.");
                    return value;
                }
            }
            throw new ToolException($"{Path} has no \"{keys[0]}\", which this model family needs.");
        }

        /// <summary>The first architecture name (<c>LlamaForCausalLM</c>), or <paramref name="fallback"/>.</summary>
        public string Architecture(string fallback)
        {
            if (_root.TryGetProperty("architectures", out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0
                && v[0].ValueKind == JsonValueKind.String && v[0].GetString() is { Length: > 0 } name)
                return name;
            return fallback;
        }
    }
}
