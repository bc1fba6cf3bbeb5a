namespace NormSharp.Optimizers;

/// <summary>The learning rate as a function of the step: a factor applied to the base rate.</summary>
public abstract record LearningRateSchedule
{
    /// <summary>The multiplier of the base learning rate at 0-based <paramref name="step"/>.</summary>
    public abstract double Factor(long step);

    /// <summary>The learning rate at <paramref name="step"/>.</summary>
    public double At(double baseRate, long step) => baseRate * Factor(step);

    /// <summary>A constant rate.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();
}

/// <summary>Always the base rate.</summary>
public sealed record ConstantSchedule : LearningRateSchedule
{
    /// <inheritdoc />
    public override double Factor(long step) => 1.0;
}

/// <summary>Multiplies the rate by <paramref name="Gamma"/> every <paramref name="StepSize"/> steps (PyTorch's StepLR).</summary>
public sealed record StepSchedule(long StepSize, double Gamma) : LearningRateSchedule
{
    /// <inheritdoc />
    public override double Factor(long step) => Math.Pow(Gamma, step / Math.Max(1, StepSize));
}

/// <summary>Cosine annealing from the base rate to <paramref name="MinFactor"/>×base over <paramref name="TotalSteps"/>.</summary>
public sealed record CosineSchedule(long TotalSteps, double MinFactor = 0.0) : LearningRateSchedule
{
    /// <inheritdoc />
    public override double Factor(long step)
    {
        double t = Math.Clamp((double)step / Math.Max(1, TotalSteps), 0, 1);
        return MinFactor + (1 - MinFactor) * 0.5 * (1 + Math.Cos(Math.PI * t));
    }
}

/// <summary>Linear warm-up from 0 to the full rate over <paramref name="WarmupSteps"/>, then <paramref name="After"/> (counted from the end of warm-up).</summary>
public sealed record WarmupSchedule(long WarmupSteps, LearningRateSchedule After) : LearningRateSchedule
{
    /// <inheritdoc />
    public override double Factor(long step) =>
        step < WarmupSteps ? (step + 1.0) / WarmupSteps : After.Factor(step - WarmupSteps);
}
