using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Models;

/// <summary>
/// Weights laid out for the CPU kernel: a float32 decoder's matrices are row-major for the decode kernel
/// (column-major views for libtorch's without AVX2) with the checkpoint's values, shapes and names; a bfloat16 one keeps the checkpoint's row-major layout.
/// (That the outputs still match the float64 references is DecoderParityTests' job.)
/// </summary>
public sealed class KernelLayoutTests
{
    static CheckpointDirectory Llama => CheckpointDirectory.Open(ChatFixtures.Dir(ChatFixtures.Llama));

    [Fact]
    public void Float32_decoder_matrices_are_laid_out_for_their_decode_kernel_with_the_checkpoints_values()
    {
        // The hand-written decode kernel reads the checkpoint's row-major layout; without AVX2 and FMA libtorch's matrix-vector product reads column-major.
        bool rowMajor = Service.Inference.Models.Decode.MatVecKernel.Supported;
        using var model = (nn.Module)CausalLanguageModelLoader.Load(Llama, torch.CPU, ScalarType.Float32);
        var checkpoint = Llama;
        var matrices = model.named_parameters().Where(p => p.parameter.dim() == 2).ToList();
        Assert.NotEmpty(matrices);
        foreach (var (name, p) in matrices)
        {
            Assert.Equal(rowMajor ? [p.shape[1], 1] : [1, p.shape[0]], p.stride());
            Assert.Equal(rowMajor, p.is_contiguous());
            using var stored = checkpoint.Tensors[name].Read(name).to(p.dtype);
            Assert.True(stored.equal(p).all().item<bool>(), $"{name} differs from the checkpoint");
        }
    }

    [Fact]
    public void Bfloat16_decoder_keeps_the_checkpoint_layout()
    {
        using var model = (nn.Module)CausalLanguageModelLoader.Load(Llama, torch.CPU, ScalarType.BFloat16);
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.is_contiguous(), p.name));
    }

    [Theory]
    [MemberData(nameof(MaskedLms))]
    public void A_cpu_encoder_reads_query_key_and_value_into_one_matrix_with_the_checkpoints_values(string fixture)
    {
        var checkpoint = CheckpointDirectory.Open(Fixtures.Dir(fixture));
        var bundle = MaskedLanguageModelLoader.Load(checkpoint, torch.CPU, ScalarType.Float32);
        using var model = (nn.Module)bundle.Model;
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var queries = parameters.Keys.Where(k => k.EndsWith(".attention.self.query.weight", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            var layer = query[..^"query.weight".Length];
            foreach (var part in new[] { "weight", "bias" })
            {
                var (q, k, v) = (parameters[layer + "query." + part], parameters[layer + "key." + part], parameters[layer + "value." + part]);
                // One storage, three consecutive row blocks: the fused product reads exactly these.
                Assert.Equal(q.storage<float>().data_ptr(), k.storage<float>().data_ptr());
                Assert.Equal(q.storage<float>().data_ptr(), v.storage<float>().data_ptr());
                Assert.Equal([0, q.numel(), 2 * q.numel()], new[] { q.storage_offset(), k.storage_offset(), v.storage_offset() });
                foreach (var (name, p) in new[] { ("query", q), ("key", k), ("value", v) })
                {
                    var key = Checkpoint(checkpoint, (Service.Inference.Models.Bert.BertForMaskedLM)bundle.Model, layer + name + "." + part);
                    using var stored = checkpoint.Tensors[key].Read(key).to(p.dtype);
                    Assert.True(stored.equal(p).all().item<bool>(), $"{key} differs from the checkpoint");
                }
            }
        }
    }

    public static TheoryData<string> MaskedLms => [.. Fixtures.MaskedLms];

    /// <summary>The checkpoint key that fills a module key (TensorFlow-era names differ only for LayerNorm, not here).</summary>
    static string Checkpoint(CheckpointDirectory checkpoint, Service.Inference.Models.Bert.BertForMaskedLM model, string moduleKey) =>
        checkpoint.Tensors.Keys.Single(k => model.ModuleKey(k) == moduleKey);

    [Fact]
    public void A_column_major_target_is_read_in_row_blocks_with_the_same_values()
    {
        var file = Llama.Tensors.Values.First();
        var name = file.Entries.Values.First(e => e.Shape.Length == 2 && e.Shape[0] > 3).Name;
        using var whole = file.Read(name);
        using var storage = torch.empty([whole.shape[1], whole.shape[0]], whole.dtype);
        using var target = storage.t();
        file.ReadInto(name, target, chunkBytes: 1000); // blocks of a few rows, not a multiple of the matrix
        Assert.True(whole.equal(target).all().item<bool>());
    }
}
