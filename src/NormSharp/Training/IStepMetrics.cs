namespace NormSharp.Training;

/// <summary>Extra per-step columns for <see cref="MetricsCsvLogger"/> (e.g. a recurrent model's hidden-state norms per time step).</summary>
public interface IStepMetrics
{
    /// <summary>The column names, fixed for the whole run.</summary>
    IReadOnlyList<string> Columns { get; }

    /// <summary>Writes this step's values, one per column, into <paramref name="values"/>.</summary>
    void Measure(StepContext step, Span<double> values);
}
