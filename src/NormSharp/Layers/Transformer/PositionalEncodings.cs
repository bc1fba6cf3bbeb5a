using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Transformer;

/// <summary>How a Transformer language model tells positions apart.</summary>
public enum PositionalEncodingKind
{
    /// <summary>A trained vector per position (<see cref="LearnedPositionalEmbedding"/>, GPT's choice).</summary>
    Learned,
    /// <summary>Fixed sines and cosines of geometric frequencies (<see cref="SinusoidalPositionalEncoding"/>, Vaswani et al. 2017).</summary>
    Sinusoidal,
}

/// <summary>
/// Adds a trained vector per position to a batch-first sequence [B, T, D]: <c>weight</c> [max_length, D], row t
/// added at position t. Rows start as N(0, 0.02²) draws (GPT-2's initialization).
/// </summary>
public sealed class LearnedPositionalEmbedding : Module
{
    /// <summary>Creates the table of <paramref name="maxLength"/> positions of width <paramref name="dim"/>.</summary>
    /// <exception cref="InvalidValueException">A size is not positive.</exception>
    public LearnedPositionalEmbedding(int maxLength, int dim, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (maxLength <= 0) throw new InvalidValueException(nameof(maxLength), $"LearnedPositionalEmbedding: the maximum length must be positive, got {maxLength}.");
        if (dim <= 0) throw new InvalidValueException(nameof(dim), $"LearnedPositionalEmbedding: the width must be positive, got {dim}.");
        var w = Tensor.Zeros(maxLength, dim);
        rng.FillNormal(w.Span, 0f, 0.02f);
        Weight = Variable.Parameter(w, "weight");
    }

    /// <summary>The table, [max_length, D].</summary>
    public Variable Weight { get; }

    /// <summary>Positions the table covers.</summary>
    public int MaxLength => Weight.Value.Dim(0);

    /// <inheritdoc />
    /// <exception cref="ShapeMismatchException">The input is not [B, T, D] with T within the table.</exception>
    public override Variable Forward(Variable input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int time = PositionalCheck.Length(input, MaxLength, Weight.Value.Dim(1), "LearnedPositionalEmbedding");
        return F.Add(input, F.Narrow(Weight, 0, 0, time));
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{MaxLength}, {Weight.Value.Dim(1)}";
}

/// <summary>
/// Adds fixed sinusoids to a batch-first sequence [B, T, D]: channel 2i of position t holds sin(t / 10000^(2i/D))
/// and channel 2i+1 cos of the same (Vaswani et al. 2017). Nothing is trained or saved: the table is a function
/// of the sizes.
/// </summary>
public sealed class SinusoidalPositionalEncoding : Module
{
    private readonly Tensor _table;
    private Tensor? _prefix;

    /// <summary>Creates the table of <paramref name="maxLength"/> positions of width <paramref name="dim"/>.</summary>
    /// <exception cref="InvalidValueException">A size is not positive.</exception>
    public SinusoidalPositionalEncoding(int maxLength, int dim)
    {
        if (maxLength <= 0) throw new InvalidValueException(nameof(maxLength), $"SinusoidalPositionalEncoding: the maximum length must be positive, got {maxLength}.");
        if (dim <= 0) throw new InvalidValueException(nameof(dim), $"SinusoidalPositionalEncoding: the width must be positive, got {dim}.");
        _table = Tensor.Zeros(maxLength, dim);
        var s = _table.Span;
        for (int t = 0; t < maxLength; t++)
            for (int i = 0; i < dim; i++)
            {
                double angle = t / Math.Pow(10000.0, (i & ~1) / (double)dim);
                s[t * dim + i] = (float)((i & 1) == 0 ? Math.Sin(angle) : Math.Cos(angle));
            }
    }

    /// <summary>Positions the table covers.</summary>
    public int MaxLength => _table.Dim(0);

    /// <summary>The table, [max_length, D] (read-only by convention).</summary>
    public Tensor Table => _table;

    /// <inheritdoc />
    /// <exception cref="ShapeMismatchException">The input is not [B, T, D] with T within the table.</exception>
    public override Variable Forward(Variable input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int time = PositionalCheck.Length(input, MaxLength, _table.Dim(1), "SinusoidalPositionalEncoding");
        // The leading rows as a view, kept while the length repeats (a training loop allocates no new view per step).
        if (_prefix is null || _prefix.Dim(0) != time) _prefix = _table.Narrow(0, time);
        return F.Add(input, Variable.Constant(_prefix));
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{MaxLength}, {_table.Dim(1)}";
}

internal static class PositionalCheck
{
    /// <summary>The sequence length of a [B, T, D] input, checked against the table.</summary>
    public static int Length(Variable input, int maxLength, int dim, string owner)
    {
        var s = input.Shape;
        if (s.Length != 3 || s[2] != dim)
            throw new ShapeMismatchException($"{owner}: the input must be [B, T, {dim}], got {ShapeMismatchException.Format(s)}.");
        if (s[1] > maxLength)
            throw new ShapeMismatchException($"{owner}: the sequence has {s[1]} positions, more than the {maxLength} the encoding covers.");
        return s[1];
    }
}
