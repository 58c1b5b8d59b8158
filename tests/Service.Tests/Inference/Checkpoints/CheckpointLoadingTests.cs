using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using RawTensor = Service.Tests.Support.SafeTensorsWriter.RawTensor;

namespace Service.Tests.Inference.Checkpoints;

/// <summary>A bad checkpoint fails with a message that names the file and the key.</summary>
public sealed class CheckpointLoadingTests
{
    static CheckpointException LoadFails(string directory) =>
        Assert.Throws<CheckpointException>(() => MaskedLanguageModelLoader.Load(directory, torch.CPU, ScalarType.Float32));

    static string Rewrite(Func<Dictionary<string, RawTensor>, Dictionary<string, RawTensor>> change)
    {
        var dir = Fixtures.CopyToTemp("bert-tiny");
        var weights = Path.Combine(dir, "model.safetensors");
        SafeTensorsWriter.Write(weights, change(SafeTensorsWriter.ReadAll(dir)));
        return dir;
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        var dir = Rewrite(t => { t.Remove("bert.encoder.layer.1.attention.self.key.weight"); return t; });
        var error = LoadFails(dir);
        Assert.Contains("bert.encoder.layer.1.attention.self.key.weight", error.Message);
        Assert.Contains(dir, error.Message);
    }

    [Fact]
    public void An_unexpected_tensor_is_named_with_its_file()
    {
        var dir = Rewrite(t => { t["bert.encoder.layer.9.output.dense.weight"] = t["bert.encoder.layer.0.output.dense.weight"]; return t; });
        var error = LoadFails(dir);
        Assert.Contains("bert.encoder.layer.9.output.dense.weight", error.Message);
        Assert.Contains("model.safetensors", error.Message);
    }

    [Fact]
    public void A_wrong_shape_is_named_with_both_shapes()
    {
        var dir = Rewrite(t =>
        {
            var bias = t["cls.predictions.transform.dense.bias"];
            t["cls.predictions.transform.dense.bias"] = bias with { Shape = [bias.Shape[0] / 2], Data = bias.Data[..(bias.Data.Length / 2)] };
            return t;
        });
        var error = LoadFails(dir);
        Assert.Contains("cls.predictions.transform.dense.bias", error.Message);
        Assert.Contains("expects [", error.Message);
    }

    [Fact]
    public void A_truncated_file_is_named()
    {
        var dir = Fixtures.CopyToTemp("bert-tiny");
        var weights = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length - 100)]);
        var error = LoadFails(dir);
        Assert.Contains(weights, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_directory_without_weights_says_what_is_missing()
    {
        var dir = Fixtures.CopyToTemp("bert-tiny");
        File.Delete(Path.Combine(dir, "model.safetensors"));
        Assert.Contains("model.safetensors", LoadFails(dir).Message);
    }

    [Fact]
    public void A_shard_named_in_the_index_but_absent_is_named()
    {
        var dir = Fixtures.CopyToTemp("bert-tiny-bf16-sharded");
        var shard = Directory.GetFiles(dir, "model-00002-of-*.safetensors").Single();
        File.Delete(shard);
        Assert.Contains(Path.GetFileName(shard), LoadFails(dir).Message);
    }

    [Fact]
    public void Weights_stored_in_bf16_load_into_float32_exactly()
    {
        var dir = Fixtures.Dir("bert-tiny-bf16-sharded");
        var checkpoint = CheckpointDirectory.Open(dir);
        Assert.True(checkpoint.Tensors.Values.Distinct().Count() > 1, "the fixture is sharded");
        var name = checkpoint.Tensors.Keys.First(k => k.EndsWith("query.weight"));
        using var stored = checkpoint.Tensors[name].Read(name);
        Assert.Equal(ScalarType.BFloat16, stored.dtype);
        using var widened = stored.to(ScalarType.Float32);
        using var back = widened.to(ScalarType.BFloat16);
        Assert.True(back.eq(stored).all().item<bool>()); // bf16 -> f32 -> bf16 is exact
    }

    [Theory]
    [InlineData("bert-tiny", ScalarType.Float32)]               // straight into the target's memory
    [InlineData("bert-tiny-bf16-sharded", ScalarType.Float32)]  // through the staging chunk, widened
    [InlineData("bert-tiny", ScalarType.BFloat16)]              // through the staging chunk, narrowed
    public void Reading_in_chunks_into_a_target_gives_the_stored_values(string fixture, ScalarType dtype)
    {
        var checkpoint = CheckpointDirectory.Open(Fixtures.Dir(fixture));
        var name = checkpoint.Tensors.Keys.First(k => k.EndsWith("intermediate.dense.weight"));
        var file = checkpoint.Tensors[name];
        using var stored = file.Read(name);
        using var expected = stored.to(dtype);
        using var target = torch.zeros(stored.shape, dtype);
        file.ReadInto(name, target, chunkBytes: 1000); // not a multiple of the row size
        Assert.True(target.eq(expected).all().item<bool>());
    }

    [Fact]
    public void The_model_can_be_built_in_half_precision()
    {
        var bundle = MaskedLanguageModelLoader.Load(Fixtures.Dir("xlmr-tiny"), torch.CPU, ScalarType.BFloat16);
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var ids = torch.tensor(new long[] { 0, 5, 6, 2 }, [1, 4]);
        var hidden = bundle.Model.Encode(ids, torch.ones_like(ids));
        Assert.Equal(ScalarType.BFloat16, hidden.dtype);
        Assert.False(hidden.isnan().any().item<bool>());
    }
}
