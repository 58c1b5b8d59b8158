using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>A model that stores some weights in the layout their CPU kernel reads fastest, chosen before the checkpoint is read into them.</summary>
public interface IKernelLayout
{
    /// <summary>Re-allocates the chosen parameters (empty, same shape and name) in their kernel's layout; the loader then fills them.</summary>
    void PrepareKernelLayout();
}

/// <summary>
/// libtorch's float32 product with one or a few rows (decode steps, the MLM head at a mask) reads a
/// weight [out, in] faster when it is stored column-major, i.e. as a contiguous [in, out] matrix seen
/// through a transposed view: `linear` then multiplies by a plain row-major matrix instead of a
/// transposed one. Measured here (interleaved, shared machine): a [896 -> 4864] matvec 0.6-0.9x, the
/// vocabulary projections 0.66-0.79x the time. Half precision is the other way round (bfloat16 1.1-1.5x,
/// float16 up to 30x slower column-major) and so are 16-row BERT products, so only float32 matrices on
/// the CPU are changed; CUDA keeps the checkpoint's layout, so its results are untouched.
/// Values, shapes and state-dict names stay the same: only the strides differ.
/// </summary>
public static class KernelLayout
{
    public static bool Applies(Tensor weight) =>
        weight.device_type == DeviceType.CPU && weight.dtype == ScalarType.Float32 && weight.dim() == 2;

    /// <summary>An uninitialised column-major parameter of the weight's shape, or null when the layout does not apply.</summary>
    static Parameter? ColumnMajor(Parameter weight)
    {
        if (!Applies(weight) || !weight.is_contiguous()) return null;
        using var storage = torch.empty([weight.shape[1], weight.shape[0]], weight.dtype, weight.device); // [in, out]
        return new Parameter(storage.t(), requires_grad: false);
    }

    public static void ColumnMajor(Linear linear)
    {
        var old = linear.weight!;
        if (ColumnMajor(old) is not { } column) return;
        linear.weight = column;
        old.Dispose(); // freed now: the model never holds both layouts
    }

    public static void ColumnMajor(Embedding embedding)
    {
        var old = embedding.weight!;
        if (ColumnMajor(old) is not { } column) return;
        embedding.weight = column;
        old.Dispose();
    }
}
