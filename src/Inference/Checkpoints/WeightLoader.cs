using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Checkpoints;

/// <summary>
/// Strict, name-for-name copy of checkpoint tensors into a module's parameters. Each tensor is read
/// straight into the already-allocated parameter (through a small staging chunk when its dtype or
/// device differs), so loading needs the weights' memory and almost nothing more.
/// </summary>
public static class WeightLoader
{
    /// <summary>Loads a freshly built model, disposes it if loading fails, and returns it in eval mode.</summary>
    public static T LoadNew<T>(T model, CheckpointDirectory checkpoint, Func<string, string?> moduleKey) where T : nn.Module
    {
        try
        {
            // Layout is chosen before the read, so the checkpoint goes straight into it: no second copy.
            if (model is Models.IKernelLayout layout) layout.PrepareKernelLayout();
            Load(model, checkpoint, moduleKey);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    /// <param name="moduleKey">Maps a checkpoint key to a state-dict key, or null for a key the task ignores.</param>
    public static void Load(nn.Module module, CheckpointDirectory checkpoint, Func<string, string?> moduleKey)
    {
        var targets = module.state_dict();
        var loadedFrom = new Dictionary<string, string>(StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        foreach (var (checkpointKey, file) in checkpoint.Tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var key = moduleKey(checkpointKey);
            if (key is null) continue;
            if (!targets.TryGetValue(key, out var target))
                throw new CheckpointException($"{file.Path}: unexpected tensor '{checkpointKey}'; the {module.GetName()} model has no such weight.");
            if (loadedFrom.TryGetValue(key, out var earlier))
                throw new CheckpointException($"{file.Path}: tensor '{checkpointKey}' sets '{key}', which '{earlier}' already set.");
            var entry = file.Entries[checkpointKey];
            if (!entry.Shape.SequenceEqual(target.shape))
                throw new CheckpointException(
                    $"{file.Path}: tensor '{checkpointKey}' has shape {SafeTensorsFile.Shape(entry.Shape)} but the model expects {SafeTensorsFile.Shape(target.shape)}; config.json and the weights disagree.");
            try
            {
                file.ReadInto(checkpointKey, target);
            }
            catch (IOException e)
            {
                throw new CheckpointException($"{file.Path}: reading tensor '{checkpointKey}' failed: {e.Message}");
            }
            loadedFrom[key] = checkpointKey;
        }
        var missing = targets.Keys.Where(k => !loadedFrom.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new CheckpointException(
                $"{checkpoint.Path}: the checkpoint has no tensor '{missing[0]}'" +
                (missing.Count > 1 ? $" (and {missing.Count - 1} more missing: {string.Join(", ", missing.Skip(1).Take(5))})" : "") + ".");
    }
}
