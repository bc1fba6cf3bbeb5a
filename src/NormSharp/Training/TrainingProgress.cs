namespace NormSharp.Training;

/// <summary>A snapshot the <see cref="ProgressReporter"/> reports after every step, at each epoch's end and with each notice.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Step">Optimizer steps taken in the whole run.</param>
/// <param name="TotalSteps">Steps the whole run will take (0 when the batch source cannot tell).</param>
/// <param name="Loss">Training loss of the last step.</param>
/// <param name="SmoothedLoss">Exponential moving average of the training loss.</param>
/// <param name="TestAccuracy">Accuracy of the last held-out evaluation, or null before the first.</param>
/// <param name="Message">Something worth saying (an epoch's end, a skipped step), or null.</param>
public readonly record struct TrainingProgress(int Epoch, int Epochs, long Step, long TotalSteps, double Loss, double SmoothedLoss, double? TestAccuracy, string? Message);
