namespace NormSharp.Distributed;

/// <summary>What one data-parallel step spent on communication.</summary>
/// <param name="CommunicationTime">Wall time this rank spent starting collectives and waiting for them (time overlapped with the backward pass is not counted).</param>
/// <param name="BytesPerStep">Bytes of gradients (and their flags) this rank contributes to the all-reduce per step.</param>
/// <param name="Buckets">Number of gradient buckets.</param>
public sealed record DataParallelStatistics(TimeSpan CommunicationTime, long BytesPerStep, int Buckets);
