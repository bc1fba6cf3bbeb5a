namespace NormSharp.Training;

/// <summary>What a <see cref="NanGuard"/> does when a step produces a non-finite loss or gradient.</summary>
public enum NanPolicy
{
    /// <summary>Stop the run as diverged; the last good checkpoint stays as it was.</summary>
    Stop,
    /// <summary>Skip the step (no update) and go on; stop after many skips in a row.</summary>
    Skip,
    /// <summary>Go back to the last checkpoint with the learning rate halved (cumulatively).</summary>
    Rollback,
}
