namespace NormSharp.Layers;

/// <summary>
/// A module whose evaluation-mode statistics can be re-estimated with its weights frozen
/// (<see cref="PopulationStatistics.Reestimate"/>): between <see cref="BeginPopulationEstimate"/> and
/// <see cref="EndPopulationEstimate"/> its forward passes normalize with batch statistics, as in training,
/// and collect them instead of updating running averages.
/// </summary>
internal interface IPopulationStatistics
{
    /// <summary>Starts collecting batch statistics, to be combined as <paramref name="variance"/> says.</summary>
    void BeginPopulationEstimate(PopulationVariance variance);

    /// <summary>Stops collecting; with <paramref name="apply"/> the averages replace the evaluation statistics, else they are discarded.</summary>
    void EndPopulationEstimate(bool apply);
}
