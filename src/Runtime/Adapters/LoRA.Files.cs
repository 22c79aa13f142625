using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Adapters
{
    public static partial class LoRA
    {
        /// <summary>File of the adapter weights, as PEFT names it.</summary>
        public const string WeightsFileName = "adapter_model.safetensors";

        /// <summary>File of the adapter settings, as PEFT names it.</summary>
        public const string ConfigFileName = "adapter_config.json";

        /// <summary>Prefix PEFT puts before every module path in a saved adapter (<c>PeftModel.base_model.model</c>).</summary>
        public const string PeftPrefix = "base_model.model.";

        /// <summary>
        /// Saves the adapters alone, as PEFT saves them: <see cref="WeightsFileName"/> with <c>base_model.model.{path}.lora_A.weight</c>
        /// and <c>…lora_B.weight</c> in the adapters' dtype, and <see cref="ConfigFileName"/> with <c>r</c>, <c>lora_alpha</c>,
        /// <c>lora_dropout</c>, <c>target_modules</c>. Each file is written under a temporary name and renamed.
        /// </summary>
        /// <param name="model">A model with adapters (all of one rank, alpha and dropout, as one PEFT config describes).</param>
        /// <param name="directory">Created when missing.</param>
        /// <exception cref="InvalidOperationException">The model has no adapters, or adapters with different rank, alpha or dropout.</exception>
        public static void Save(nn.Module model, string directory)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentException.ThrowIfNullOrEmpty(directory);
            var adapters = Adapters(model);
            if (adapters.Count == 0)
                throw new InvalidOperationException("The model has no LoRA adapters to save.");
            var first = adapters[0].Adapter;
            var odd = adapters.FirstOrDefault(a => a.Adapter.Rank != first.Rank || a.Adapter.Alpha != first.Alpha || a.Adapter.Dropout != first.Dropout);
            if (odd.Adapter is not null)
                throw new InvalidOperationException(
                    $"All adapters must share rank, alpha and dropout to be saved under one adapter_config.json; '{adapters[0].Path}' has " +
                    $"r={first.Rank}, alpha={first.Alpha}, dropout={first.Dropout} but '{odd.Path}' has r={odd.Adapter.Rank}, alpha={odd.Adapter.Alpha}, dropout={odd.Adapter.Dropout}.");

            Directory.CreateDirectory(directory);
            var tensors = new List<(string, Tensor)>();
            foreach (var (path, adapter) in adapters)
            {
                tensors.Add((PeftKey(path, "lora_A"), adapter.lora_A.weight!));
                tensors.Add((PeftKey(path, "lora_B"), adapter.lora_B.weight!));
            }

            Safetensors.Write(Path.Combine(directory, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            WriteConfig(Path.Combine(directory, ConfigFileName), first, TargetNames(model, adapters.Select(a => a.Path).ToList()));
        }

        /// <summary>
        /// Loads adapters saved by <see cref="Save"/> or by PEFT's <c>save_pretrained</c>. When <paramref name="model"/> has no adapters yet
        /// they are first attached as the saved config says (<see cref="Apply"/>), in the dtype the file stores them in; otherwise the existing ones must have the saved rank
        /// and alpha. Every adapter must find both its tensors and every tensor must find its adapter; nothing is copied otherwise.
        /// </summary>
        /// <returns>The model's adapters with their paths.</returns>
        /// <exception cref="InvalidDataException">A missing or malformed file, a config this runtime cannot honour (rslora, DoRA,
        /// per-layer ranks or alphas, fan_in_fan_out, biases, modules_to_save, layers_to_transform, layer_replication), or tensors that
        /// do not match the model's adapters.</exception>
        public static IReadOnlyList<(string Path, LoraAdapter Adapter)> Load(nn.Module model, string directory)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentException.ThrowIfNullOrEmpty(directory);
            var options = ReadConfig(Path.Combine(directory, ConfigFileName));
            var weightsPath = Path.Combine(directory, WeightsFileName);
            if (!File.Exists(weightsPath))
                throw new InvalidDataException($"No adapter weights at '{weightsPath}'.");
            var (tensors, _) = Safetensors.Read(weightsPath);
            try
            {
                var adapters = Adapters(model);
                if (adapters.Count == 0)
                {
                    // The config has no dtype (PEFT's neither): fresh adapters take the one they were saved in, so they come back bit for bit.
                    var dtypes = tensors.Values.Select(t => t.dtype).Distinct().ToList();
                    adapters = Apply(model, dtypes.Count == 1 ? options with { AdapterDtype = dtypes[0] } : options);
                }
                var mismatch = adapters.FirstOrDefault(a => a.Adapter.Rank != options.Rank || a.Adapter.Alpha != options.Alpha);
                if (mismatch.Adapter is not null)
                    throw new InvalidDataException(
                        $"The saved adapters have r={options.Rank}, lora_alpha={options.Alpha} but '{mismatch.Path}' has r={mismatch.Adapter.Rank}, alpha={mismatch.Adapter.Alpha}.");

                var pairs = new List<(Tensor Target, Tensor Source)>();
                var used = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (path, adapter) in adapters)
                {
                    foreach (var (part, target) in new[] { ("lora_A", adapter.lora_A.weight!), ("lora_B", adapter.lora_B.weight!) })
                    {
                        var key = PeftKey(path, part);
                        if (!tensors.TryGetValue(key, out var source))
                            throw new InvalidDataException($"'{weightsPath}' has no '{key}' for the adapter at '{path}'.");
                        if (!source.shape.SequenceEqual(target.shape))
                            throw new InvalidDataException(
                                $"'{key}' is [{string.Join(", ", source.shape)}] in the file but [{string.Join(", ", target.shape)}] in the model.");
                        pairs.Add((target, source));
                        used.Add(key);
                    }
                }

                var extra = tensors.Keys.Where(k => !used.Contains(k)).ToList();
                if (extra.Count > 0)
                    throw new InvalidDataException(
                        $"'{weightsPath}' holds tensors no adapter of this model takes: {string.Join(", ", extra.Take(5))}{(extra.Count > 5 ? ", …" : "")}.");

                using (no_grad())
                    foreach (var (target, source) in pairs)
                        target.copy_(source);
                return adapters;
            }
            finally
            {
                foreach (var t in tensors.Values)
                    t.Dispose();
            }
        }

        /// <summary>The PEFT key of one adapter matrix: <c>base_model.model.{path}.{lora_A|lora_B}.weight</c>.</summary>
        public static string PeftKey(string path, string part)
        {
            ArgumentNullException.ThrowIfNull(path);
            return PeftPrefix + (path.Length == 0 ? "" : path + ".") + part + ".weight";
        }

        // PEFT matches list entries as path suffixes; the last path segments are used when they select exactly the adapted layers,
        // otherwise the full paths (each matches only itself).
        private static List<string> TargetNames(nn.Module model, IReadOnlyList<string> adapted)
        {
            var shortNames = adapted.Select(p => p.Split('.')[^1]).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();
            var probe = new LoraOptions { TargetModules = shortNames };
            var adaptedSet = new HashSet<string>(adapted, StringComparer.Ordinal);
            bool exact = model.named_modules()
                .Where(m => m.module is TorchSharp.Modules.Linear or Quantization.QuantizedLinear)
                .Where(m => !m.name.EndsWith(".lora_A", StringComparison.Ordinal) && !m.name.EndsWith(".lora_B", StringComparison.Ordinal)
                    && !m.name.EndsWith(".base_layer", StringComparison.Ordinal))
                .All(m => probe.IsTarget(m.name) == adaptedSet.Contains(m.name));
            return exact ? shortNames : adapted.ToList();
        }

        private static void WriteConfig(string path, LoraAdapter adapter, IReadOnlyList<string> targets)
        {
            string temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
            try
            {
                using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
                using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    json.WriteStartObject();
                    json.WriteString("peft_type", "LORA");
                    json.WriteNull("task_type");
                    json.WriteNull("base_model_name_or_path");
                    json.WriteNumber("r", adapter.Rank);
                    json.WriteNumber("lora_alpha", adapter.Alpha);
                    json.WriteNumber("lora_dropout", adapter.Dropout);
                    json.WriteStartArray("target_modules");
                    foreach (var t in targets)
                        json.WriteStringValue(t);
                    json.WriteEndArray();
                    json.WriteString("bias", "none");
                    json.WriteBoolean("fan_in_fan_out", false);
                    json.WriteBoolean("use_rslora", false);
                    json.WriteBoolean("use_dora", false);
                    json.WriteBoolean("init_lora_weights", true);
                    json.WriteBoolean("inference_mode", true);
                    json.WriteNull("modules_to_save");
                    json.WriteEndObject();
                }

                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temporary))
                    File.Delete(temporary);
            }
        }

        private static LoraOptions ReadConfig(string path)
        {
            if (!File.Exists(path))
                throw new InvalidDataException($"No adapter config at '{path}'.");
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
                var root = doc.RootElement;
                if (root.TryGetProperty("peft_type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() != "LORA")
                    throw new InvalidDataException($"'{path}' describes a {type.GetString()} adapter; only LORA is supported.");
                Refuse(root, "use_rslora", v => v.ValueKind == JsonValueKind.True, "rank-stabilized scaling (use_rslora)");
                Refuse(root, "use_dora", v => v.ValueKind == JsonValueKind.True, "DoRA (use_dora)");
                Refuse(root, "fan_in_fan_out", v => v.ValueKind == JsonValueKind.True, "transposed Conv1D bases (fan_in_fan_out)");
                Refuse(root, "bias", v => v.ValueKind == JsonValueKind.String && v.GetString() != "none", "trained biases (bias other than \"none\")");
                Refuse(root, "rank_pattern", v => v.ValueKind == JsonValueKind.Object && v.EnumerateObject().Any(), "per-layer ranks (rank_pattern)");
                Refuse(root, "alpha_pattern", v => v.ValueKind == JsonValueKind.Object && v.EnumerateObject().Any(), "per-layer alphas (alpha_pattern)");
                Refuse(root, "layers_to_transform", v => v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined), "adapters on some layers only (layers_to_transform)");
                Refuse(root, "layer_replication", v => v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined), "replicated layers (layer_replication)");
                Refuse(root, "modules_to_save", v => v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0, "fully trained extra modules (modules_to_save)");

                var targets = root.GetProperty("target_modules");
                var options = new LoraOptions
                {
                    Rank = root.GetProperty("r").GetInt32(),
                    Alpha = root.TryGetProperty("lora_alpha", out var alpha) ? alpha.GetDouble() : 8,
                    Dropout = root.TryGetProperty("lora_dropout", out var dropout) ? dropout.GetDouble() : 0,
                    TargetModules = targets.ValueKind == JsonValueKind.Array ? targets.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : Array.Empty<string>(),
                    TargetPattern = targets.ValueKind == JsonValueKind.String ? targets.GetString() : null,
                };
                options.Validate();
                return options;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
            {
                throw new InvalidDataException($"'{path}' is not a usable LoRA adapter config: {e.Message}", e);
            }
        }

        private static void Refuse(JsonElement root, string name, Func<JsonElement, bool> unsupported, string what)
        {
            if (root.TryGetProperty(name, out var value) && unsupported(value))
                throw new InvalidDataException($"The adapter config asks for {what}, which ModelGen's LoRA does not implement.");
        }
    }
}
