namespace NormSharp.Autograd;

/// <summary>
/// Whether operations record themselves for the backward pass on this thread. Inference code wraps
/// itself in <see cref="NoGrad"/>: nothing is recorded and no gradient memory is kept.
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static int _disabledDepth;

    /// <summary>True when operations on this thread record for backward.</summary>
    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Turns recording off until the returned scope is disposed (scopes nest).</summary>
    public static NoGradScope NoGrad()
    {
        _disabledDepth++;
        return new NoGradScope();
    }

    /// <summary>Ends a <see cref="NoGrad"/> scope; a struct so that entering inference mode allocates nothing.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Turns recording back on (if no outer scope keeps it off).</summary>
        public void Dispose() => _disabledDepth--;
    }
}
