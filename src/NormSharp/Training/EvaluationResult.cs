namespace NormSharp.Training;

/// <summary>A model's score on held-out data.</summary>
/// <param name="Loss">Mean loss.</param>
/// <param name="Accuracy">Fraction right, or NaN when the task has no accuracy.</param>
public readonly record struct EvaluationResult(double Loss, double Accuracy = double.NaN);
