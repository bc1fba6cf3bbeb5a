using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// Where a backward kernel writes one input's gradient. When the input has no gradient yet the kernel
/// writes straight into it; when it already has one (a variable used twice) the kernel writes into
/// scratch and <see cref="Commit"/> adds it, so kernels only ever need an overwriting form.
/// </summary>
internal readonly struct GradientTarget
{
    private readonly Tensor? _accumulateInto;

    internal GradientTarget(Tensor buffer, Tensor? accumulateInto)
    {
        Buffer = buffer;
        _accumulateInto = accumulateInto;
    }

    /// <summary>The tensor to write the gradient into (overwrite).</summary>
    public Tensor Buffer { get; }

    /// <summary>True when <see cref="Buffer"/> is scratch that <see cref="Commit"/> adds to the gradient.</summary>
    public bool IsScratch => _accumulateInto is not null;

    /// <summary>Finishes the write: adds scratch into the existing gradient.</summary>
    public void Commit()
    {
        if (_accumulateInto is not null) ElementwiseKernels.AddInPlace(_accumulateInto.Span, Buffer.Span);
    }
}
