namespace NormSharp.Training;

/// <summary>What the trainer does when a step produces a non-finite loss or gradient.</summary>
public enum NanPolicy
{
    /// <summary>Stop the run; the last good checkpoint stays as it was.</summary>
    Stop,
    /// <summary>Skip the step (no update) and go on; stop after many skips in a row.</summary>
    Skip,
    /// <summary>Go back to the last checkpoint with the learning rate halved.</summary>
    Rollback,
}
