namespace NormSharp.Training;

/// <summary>A snapshot the trainer reports after every step and at each epoch's end, for progress bars.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Step">Optimizer steps taken in the whole run.</param>
/// <param name="TotalSteps">Steps the whole run will take.</param>
/// <param name="Loss">Training loss of the last step.</param>
/// <param name="SmoothedLoss">Exponential moving average of the training loss.</param>
/// <param name="TestAccuracy">Test accuracy of the last evaluation, or null before the first.</param>
/// <param name="Message">Something worth saying (a checkpoint, a skipped step), or null.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, long Step, long TotalSteps, double Loss, double SmoothedLoss, double? TestAccuracy, string? Message);
