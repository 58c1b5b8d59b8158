using System.Text.Json;

namespace Service.Inference.Checkpoints;

/// <summary>
/// A Hugging Face checkpoint directory: config.json, the weights (model.safetensors or the shards
/// listed by model.safetensors.index.json) and tokenizer files, read without modification.
/// </summary>
public sealed class CheckpointDirectory
{
    public string Path { get; }
    public JsonDocument Config { get; }
    /// <summary>Every tensor name in the checkpoint and the file that holds it.</summary>
    public IReadOnlyDictionary<string, SafeTensorsFile> Tensors { get; }

    CheckpointDirectory(string path, JsonDocument config, Dictionary<string, SafeTensorsFile> tensors)
    {
        Path = path;
        Config = config;
        Tensors = tensors;
    }

    public static CheckpointDirectory Open(string path)
    {
        if (!Directory.Exists(path))
            throw new CheckpointException($"Checkpoint directory '{path}' does not exist.");
        var config = ReadJson(System.IO.Path.Combine(path, "config.json"))
            ?? throw new CheckpointException($"{path} has no config.json; point the setting at a Hugging Face checkpoint directory.");
        return new CheckpointDirectory(path, config, OpenWeights(path));
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public bool Has(string name) => System.IO.File.Exists(File(name));

    public T ReadConfig<T>() =>
        Config.Deserialize<T>() ?? throw new CheckpointException($"{File("config.json")} is empty.");

    /// <summary>Parses a JSON file of the checkpoint, or returns null when it does not exist.</summary>
    public static JsonDocument? ReadJson(string file)
    {
        if (!System.IO.File.Exists(file)) return null;
        try
        {
            return JsonDocument.Parse(System.IO.File.ReadAllBytes(file), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{file} is not valid JSON: {e.Message}");
        }
    }

    static Dictionary<string, SafeTensorsFile> OpenWeights(string path)
    {
        var single = System.IO.Path.Combine(path, "model.safetensors");
        var index = System.IO.Path.Combine(path, "model.safetensors.index.json");
        var tensors = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        if (System.IO.File.Exists(single))
        {
            var file = SafeTensorsFile.Open(single);
            foreach (var name in file.Entries.Keys) tensors[name] = file;
            return tensors;
        }
        using var doc = ReadJson(index)
            ?? throw new CheckpointException($"{path} has neither model.safetensors nor model.safetensors.index.json (PyTorch .bin weights are not read; convert them to safetensors).");
        if (!doc.RootElement.TryGetProperty("weight_map", out var weightMap) || weightMap.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{index} has no \"weight_map\" object.");
        var shards = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        foreach (var entry in weightMap.EnumerateObject())
        {
            var shardName = entry.Value.GetString() ?? "";
            if (!shards.TryGetValue(shardName, out var shard))
            {
                var shardPath = System.IO.Path.Combine(path, shardName);
                if (!System.IO.File.Exists(shardPath))
                    throw new CheckpointException($"{index} maps '{entry.Name}' to {shardName}, which does not exist.");
                shards[shardName] = shard = SafeTensorsFile.Open(shardPath);
            }
            if (!shard.Entries.ContainsKey(entry.Name))
                throw new CheckpointException($"{index} maps '{entry.Name}' to {shardName}, but that file has no such tensor.");
            tensors[entry.Name] = shard;
        }
        return tensors;
    }
}
