using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;
using NormSharp.Kernels;

namespace NormSharp.Optimizers;

/// <summary>
/// Adam (Kingma &amp; Ba) with PyTorch's semantics; with <c>decoupledWeightDecay</c> it is AdamW
/// (Loshchilov &amp; Hutter): the decay shrinks the weights directly instead of entering the gradient.
/// </summary>
public class Adam : Optimizer
{
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;
    private readonly long[] _steps;

    /// <summary>Decay of the first-moment average.</summary>
    public float Beta1 { get; }

    /// <summary>Decay of the second-moment average.</summary>
    public float Beta2 { get; }

    /// <summary>Added to the denominator.</summary>
    public float Eps { get; }

    /// <summary>True for AdamW.</summary>
    public bool DecoupledWeightDecay { get; }

    /// <summary>Creates the optimizer over one group of <paramref name="parameters"/>.</summary>
    public Adam(IEnumerable<Variable> parameters, double lr = 1e-3, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f, bool decoupledWeightDecay = false)
        : this(OneGroup(parameters), lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay) { }

    /// <summary>Creates the optimizer over parameter groups; <paramref name="lr"/> and <paramref name="weightDecay"/> are the defaults of groups that set none.</summary>
    public Adam(IEnumerable<ParameterGroup> groups, double lr = 1e-3, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f, bool decoupledWeightDecay = false)
        : base(groups, lr, weightDecay)
    {
        if (!(beta1 >= 0f && beta1 < 1f)) throw new InvalidValueException(nameof(beta1), $"Adam: beta1 must be in [0, 1), got {beta1}.");
        if (!(beta2 >= 0f && beta2 < 1f)) throw new InvalidValueException(nameof(beta2), $"Adam: beta2 must be in [0, 1), got {beta2}.");
        if (!(eps > 0f)) throw new InvalidValueException(nameof(eps), $"Adam: eps must be positive, got {eps}.");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        DecoupledWeightDecay = decoupledWeightDecay;
        _m = Parameters.Select(p => Tensor.Zeros(p.Value.Shape)).ToArray();
        _v = Parameters.Select(p => Tensor.Zeros(p.Value.Shape)).ToArray();
        _steps = new long[Parameters.Count];
    }

    /// <inheritdoc />
    protected override void Update(int index, ParameterGroup group, Span<float> parameter, ReadOnlySpan<float> gradient)
    {
        // Per-parameter step counts, as PyTorch keeps them: a parameter that missed a step is not bias-corrected as if it had not.
        long step = ++_steps[index];
        OptimizerKernels.AdamStep(parameter, gradient, _m[index].Span, _v[index].Span, (float)group.LearningRate, Beta1, Beta2, Eps, (float)group.WeightDecay, DecoupledWeightDecay, step);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Tensor)> StateTensors()
    {
        for (int i = 0; i < _m.Length; i++)
        {
            yield return ($"state.{i}.exp_avg", _m[i]);
            yield return ($"state.{i}.exp_avg_sq", _v[i]);
        }
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, long> StateScalars()
    {
        var d = new Dictionary<string, long>(base.StateScalars());
        for (int i = 0; i < _steps.Length; i++) d[$"state.{i}.step"] = _steps[i];
        return d;
    }

    /// <inheritdoc />
    public override void LoadStateScalars(IReadOnlyDictionary<string, long> scalars)
    {
        base.LoadStateScalars(scalars);
        for (int i = 0; i < _steps.Length; i++) _steps[i] = scalars.TryGetValue($"state.{i}.step", out long s) ? s : 0;
    }
}

/// <summary>AdamW: Adam with decoupled weight decay (default 0.01, as in PyTorch).</summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer over one group of <paramref name="parameters"/>.</summary>
    public AdamW(IEnumerable<Variable> parameters, double lr = 1e-3, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay: true) { }

    /// <summary>Creates the optimizer over parameter groups (e.g. <see cref="ParameterGroups.DecayWeightsOnly"/>); unset group settings take these defaults.</summary>
    public AdamW(IEnumerable<ParameterGroup> groups, double lr = 1e-3, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
        : base(groups, lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay: true) { }
}
