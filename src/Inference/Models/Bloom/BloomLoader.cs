using Service.Inference.Checkpoints;
using static TorchSharp.torch;

namespace Service.Inference.Models.Bloom;

public static class BloomLoader
{
    public static BloomForCausalLM Load(CheckpointDirectory checkpoint, Device device, ScalarType dtype)
    {
        var config = checkpoint.ReadConfig<BloomConfig>();
        config.Validate(checkpoint.File("config.json"));
        var model = new BloomForCausalLM(config, device, dtype);
        return WeightLoader.LoadNew(model, checkpoint, BloomForCausalLM.ModuleKey);
    }
}
