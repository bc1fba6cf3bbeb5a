namespace NormSharp.Distributed;

/// <summary>How gradients (and the step's loss statistics) are summed over ranks.</summary>
public enum ReductionOrder
{
    /// <summary>
    /// MPI's own all-reduce: fastest. With 2 ranks the sum is a + b, exact and order-free; with more, Open MPI
    /// may add in an order that depends on the algorithm and message size it picks, so runs with different
    /// rank counts (or a single process with micro-batches) can differ in the last bits.
    /// </summary>
    Native,

    /// <summary>
    /// Every rank gathers all ranks' values and adds them in rank order: ((g₀ + g₁) + g₂) + …, exactly what
    /// one process with as many micro-batches adds. Bit-identical to it for any rank count; moves N times more
    /// data than <see cref="Native"/>.
    /// </summary>
    RankOrder,
}
