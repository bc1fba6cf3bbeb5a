using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>How a <see cref="Linear"/> layer's weights start.</summary>
public enum InitScheme
{
    /// <summary>PyTorch's default for <c>nn.Linear</c>: weight and bias uniform in ±1/sqrt(fan_in).</summary>
    PyTorchDefault,
    /// <summary>Glorot/Xavier uniform: ±sqrt(6/(fan_in+fan_out)); bias zero.</summary>
    XavierUniform,
    /// <summary>He/Kaiming normal for ReLU: N(0, 2/fan_in); bias zero.</summary>
    KaimingNormal,
    /// <summary>He/Kaiming uniform for ReLU: ±sqrt(6/fan_in); bias zero.</summary>
    KaimingUniform,
}

/// <summary>Weight initialization for dense layers.</summary>
public static class Init
{
    /// <summary>Fills a [fanOut, fanIn] weight and its bias (may be empty) according to <paramref name="scheme"/>.</summary>
    public static void Fill(InitScheme scheme, Span<float> weight, Span<float> bias, int fanIn, int fanOut, Rng rng)
    {
        double inv = fanIn > 0 ? 1.0 / fanIn : 0;
        switch (scheme)
        {
            case InitScheme.PyTorchDefault:
                {
                    float bound = (float)Math.Sqrt(inv);
                    rng.FillUniform(weight, -bound, bound);
                    rng.FillUniform(bias, -bound, bound);
                    break;
                }
            case InitScheme.XavierUniform:
                {
                    float bound = (float)Math.Sqrt(6.0 / Math.Max(1, fanIn + fanOut));
                    rng.FillUniform(weight, -bound, bound);
                    bias.Clear();
                    break;
                }
            case InitScheme.KaimingNormal:
                rng.FillNormal(weight, 0f, (float)Math.Sqrt(2.0 * inv));
                bias.Clear();
                break;
            case InitScheme.KaimingUniform:
                {
                    float bound = (float)Math.Sqrt(6.0 * inv);
                    rng.FillUniform(weight, -bound, bound);
                    bias.Clear();
                    break;
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown initialization scheme");
        }
    }
}
